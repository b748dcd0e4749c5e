"""``python -m core.config``: print the reference of every configuration key."""

from __future__ import annotations

import sys

from core.config.reference import key_reference

sys.stdout.write(key_reference() + "\n")
