"""Ray Tune glue: the run, the trainable, the search space and schedulers, the callbacks.

The only place in betasweep that imports Ray.
"""
