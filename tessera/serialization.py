"""Placeholder: ts.save / ts.load."""


def save(obj, f):
    raise NotImplementedError


def load(f):
    raise NotImplementedError
