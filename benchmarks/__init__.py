"""Benchmarks of flask-testbed against the isolation approaches users write by hand.

``python -m benchmarks.isolation`` is the entry point; see the README's
"Benchmark" section. Each module is small on purpose: what is generated
(:mod:`.synth`), how each approach is set up (:mod:`.approaches`), how a suite
is run and timed (:mod:`.runner`), the database servers (:mod:`.backends`) and
the report (:mod:`.report`) can be read and changed one at a time.
"""
