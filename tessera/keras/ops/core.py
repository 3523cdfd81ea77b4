"""``keras.ops`` core: conversion (``convert_to_tensor``, ``cast``, ``shape``), control flow (``cond``,
``while_loop``, ``scan``), ``scatter``/``slice`` updates and gradient helpers."""

from __future__ import annotations

__all__: list[str] = []
