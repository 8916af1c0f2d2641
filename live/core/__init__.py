"""encore core: the pure core: vocabulary, codec, controls, sampler, performer, generator, scheduler.

No I/O, threads or wall clock: deterministic given a seed."""
