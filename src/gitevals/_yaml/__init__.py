"""YAML with positions: loading (fast C loader, ruamel for positions), emitting, round-trip
layout, and JSON Schema validation with path:line:col for every problem.

Imported module by module (no re-exports): each is needed on a different path.
"""
