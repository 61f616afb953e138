"""The model: what each row should reach from what its implementation declares and what the
run recorded, and the numbers derived from a load (steady state, the probe's timeline).
Pure: it names no framework, kind or language, and runs no process."""
