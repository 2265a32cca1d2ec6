"""The package layout pyproject.toml cannot say alone: the framework is found
under src/, the built-in artifact plugins live in the top-level plugins/
folder (one file per artifact) and are installed as the subpackage
traffick_triage.plugins, for editable and regular installs alike."""

from setuptools import find_packages, setup

setup(packages=[*find_packages("src"), "traffick_triage.plugins"],
      package_dir={"": "src", "traffick_triage.plugins": "plugins"})
