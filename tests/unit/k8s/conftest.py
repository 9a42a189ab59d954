"""Unit tests of the k8s module's pure parts and of the loopback cluster's rules."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
