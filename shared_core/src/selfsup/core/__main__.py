import sys

from selfsup.core.cli import main

sys.exit(main())
