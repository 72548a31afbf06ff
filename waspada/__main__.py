import sys

from waspada.cli import main

sys.exit(main())
