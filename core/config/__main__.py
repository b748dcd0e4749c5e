"""``python -m core.config``: print the reference of every configuration key."""

from __future__ import annotations

import sys

from core.config.reference import key_reference

if __name__ == "__main__":  # importing the module (as the packaging test does) prints nothing
    sys.stdout.write(key_reference() + "\n")
