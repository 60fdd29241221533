"""The core's data: the own-data contract every domain implements (an index of a collection on disk, a lazily read
source with skip records, the scan that builds it) and scikit-learn's digits (embedded, no download)."""

from selfsup.core.data.collection import index_collection
from selfsup.core.data.digits import DigitsViews, augment_digit
from selfsup.core.data.file_source import FileSource
from selfsup.core.data.item_index import ItemIndex
from selfsup.core.data.own_data import OwnData
from selfsup.core.data.safe_pickle import RestrictedUnpickler, UnsafePickleError, load_restricted
from selfsup.core.data.scan import check_files, find_files, read_list_file
from selfsup.core.data.skips import SkipLog, TooManyBadItems

__all__ = ["DigitsViews", "FileSource", "ItemIndex", "OwnData", "RestrictedUnpickler", "SkipLog", "TooManyBadItems",
           "UnsafePickleError", "augment_digit", "check_files", "find_files", "index_collection", "load_restricted",
           "read_list_file"]
