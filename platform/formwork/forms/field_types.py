def register_builtins(registry):
    pass
