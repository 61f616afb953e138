"""The model: what each row should reach from what its implementation declares and what the
run recorded (predict.py), what explains a row outside the band and the checks before a run
(diagnose.py), and the numbers derived from a load (steady state, the probe's timeline).
It returns records, not sentences: runner/report/sentences.py says them in words.
Pure: it names no framework, kind or language, and runs no process."""
