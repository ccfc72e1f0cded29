// empty: the baseline subtracted from every scenario (process start and exit).
globalThis.__benchDone?.();
