"""The example's dependency: packaged as a wheel, installed with pip."""
from importlib.metadata import version

__version__ = version("greetlib")


def greet(name):
    return "Hello, %s!" % name
