"""HTTP internals: the only package that imports requests and tenacity."""
