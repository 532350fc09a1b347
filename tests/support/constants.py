"""Values every test module may use; defined once."""

from pathlib import Path

#: The API address of the test settings (``responses`` intercepts it; nothing listens there).
API = "https://otp.api.engagelab.test/v1/"

#: A valid mobile number in E.164 (China Mobile), the recipient of most tests.
PHONE = "+8618701235678"

#: The checkout: where README.md, docs/ and the Makefile are.
ROOT = Path(__file__).resolve().parents[2]
