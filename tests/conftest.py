"""Suite-wide settings: offline, quiet, small, and one shared tfds directory."""

import os
import tempfile
from pathlib import Path

# Nothing in the suite may reach the network: tfds loaders fail fast instead.
os.environ["ZOO_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The embedded digits set is prepared once and shared by the xdist workers
# (zoo serialises preparation with a file lock); never the user's ~/tensorflow_datasets.
os.environ["TFDS_DATA_DIR"] = str(Path(tempfile.gettempdir()) / f"zoo-tests-tfds-{os.getuid()}")
