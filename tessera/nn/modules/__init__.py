"""Layer classes of ``ts.nn``; each submodule lists its public classes in ``__all__``."""
