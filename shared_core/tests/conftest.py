import sys
from pathlib import Path

# Lets the test modules import the float64 references beside them (pytest runs in importlib mode).
sys.path.insert(0, str(Path(__file__).parent))
