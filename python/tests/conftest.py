import os
import sys

# The float64 reference and the case generator live beside the tests.
sys.path.insert(0, os.path.dirname(__file__))
