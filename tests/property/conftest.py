from ..hypothesis_profiles import load

load()
