"""Your own app: code that runs inside the app's own process (introspect.py, wrap.py,
serve.py: the standard library only, and what the app already imports), apart from the
runner's code that measures it."""
