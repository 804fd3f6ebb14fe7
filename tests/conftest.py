"""Suite-wide settings: offline, quiet, and small."""

import os

# Nothing in the suite may reach the network: tfds loaders fail fast instead.
os.environ["ZOO_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
