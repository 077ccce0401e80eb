# Fixtures shared with other test packages, imported here so pytest finds them by name for every
# test under tests/crawler (importing into a conftest is how pytest shares fixtures across
# packages): the demo site, and the storage tests' archive fixtures, which the archive checks use
# to read what storage recorded.
from tests.crawler.harness import demo  # noqa: F401  (fixture)
from tests.storage.conftest import archive, make_item, new_run, site_configs, sites  # noqa: F401  (fixtures)
