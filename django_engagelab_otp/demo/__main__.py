"""``python -m django_engagelab_otp.demo``: the demo site and the local simulator, wherever the package is installed."""

import sys

from .launcher import main

sys.exit(main())
