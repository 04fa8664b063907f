import sys

import greetlib


def main(argv):
    name = argv[1] if len(argv) > 1 else "there"
    print(greetlib.greet(name))
    print("greetlib", greetlib.__version__)


if __name__ == "__main__":
    main(sys.argv)
