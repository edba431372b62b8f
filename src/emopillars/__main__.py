import sys

from emopillars.cli.main import main

sys.exit(main())
