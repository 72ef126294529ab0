# Copyright (c) jclreid contributors. All rights reserved.
"""``load_plain_pickle`` loads plain data and runs nothing from the file."""
import collections
import copyreg
import os
import pickle

import numpy as np
import pytest

from jclreid.utils import load_plain_pickle
from jclreid.utils.safe_pickle import UnsafePickleError

PLAIN = dict(
    names=['a_1_2.jpg', 'b'],
    marks=[0, 1, 1],
    nested=(1.5, None, True, False, b'\x00\xff', {'k': [(), [], {}]}),
    big=2**70,
    neg=-3)


class _Payload:
    """Unpickles as ``os.system('touch <marker>')``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def _dump(path, obj, protocol=pickle.HIGHEST_PROTOCOL):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)
    return str(path)


@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_round_trip(tmp_path, protocol):
    path = _dump(tmp_path / 'p.pkl', PLAIN, protocol)
    if protocol < 3:
        # Python 3 stores bytes as a call of _codecs.encode before protocol 3
        with pytest.raises(UnsafePickleError, match='_codecs.encode'):
            load_plain_pickle(path)
        no_bytes = dict(PLAIN, nested=PLAIN['nested'][:4])
        path = _dump(tmp_path / 'p.pkl', no_bytes, protocol)
        assert load_plain_pickle(path) == no_bytes
    else:
        assert load_plain_pickle(path) == PLAIN


def test_python2_pickle(tmp_path):
    # what Python 2's cPickle.dump(dict(names=['a.jpg'], marks=[0]), f, 2)
    # writes: str as SHORT_BINSTRING, read back as ASCII str
    path = tmp_path / 'py2.pkl'
    path.write_bytes(b'\x80\x02}q\x00(U\x05namesq\x01]q\x02U\x05a.jpgq\x03'
                     b'aU\x05marksq\x04]q\x05K\x00au.')
    assert load_plain_pickle(str(path)) == dict(names=['a.jpg'], marks=[0])


def test_shared_and_cyclic_references(tmp_path):
    shared = ['x']
    cyclic = [1]
    cyclic.append(cyclic)
    obj = load_plain_pickle(
        _dump(tmp_path / 'p.pkl', dict(a=shared, b=shared, c=cyclic)))
    assert obj['a'] is obj['b'] and obj['c'][1] is obj['c']


def test_crafted_pickle_runs_no_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = _dump(tmp_path / 'evil.pkl', dict(ok=[1], evil=_Payload(marker)))
    with pytest.raises(UnsafePickleError) as e:
        load_plain_pickle(path)
    msg = str(e.value)
    assert repr(path) in msg and 'system' in msg
    assert not marker.exists()
    # control: the standard loader does run the payload of this very file
    with open(path, 'rb') as f:
        pickle.load(f)
    assert marker.exists()


@pytest.mark.parametrize(
    'obj,name',
    [(collections.OrderedDict(a=1), 'collections.OrderedDict'),
     (np.arange(3), 'numpy'),
     (np.int64(3), 'numpy'),
     (complex(1, 2), 'builtins.complex'),
     (range(3), 'builtins.range')])
def test_every_global_is_refused(tmp_path, obj, name):
    path = _dump(tmp_path / 'g.pkl', [obj], protocol=4)
    with pytest.raises(UnsafePickleError, match=name) as e:
        load_plain_pickle(path)
    assert repr(path) in str(e.value)


@pytest.mark.parametrize('obj', [{1, 2}, frozenset([1])])
def test_types_built_without_globals_are_refused(tmp_path, obj):
    # protocol 4 writes sets with opcodes that never call find_class
    path = _dump(tmp_path / 's.pkl', dict(x=[obj]), protocol=4)
    with pytest.raises(UnsafePickleError,
                       match=f'object of type {type(obj).__name__}'):
        load_plain_pickle(path)


def test_extension_codes_are_refused(tmp_path):
    code = 0x7ffff0
    copyreg.add_extension('collections', 'OrderedDict', code)
    try:
        path = _dump(tmp_path / 'e.pkl', [collections.OrderedDict],
                     protocol=2)
        with open(path, 'rb') as f:
            pickle.load(f)  # now in copyreg's cache: find_class not called
        with pytest.raises(UnsafePickleError, match='extension code'):
            load_plain_pickle(path)
    finally:
        copyreg.remove_extension('collections', 'OrderedDict', code)


def test_persistent_ids_are_refused(tmp_path):

    class Pickler(pickle.Pickler):

        def persistent_id(self, obj):
            return 'pid' if obj == 'outside' else None

    path = tmp_path / 'pid.pkl'
    with open(path, 'wb') as f:
        Pickler(f, protocol=2).dump(['outside'])
    with pytest.raises(UnsafePickleError, match='persistent id'):
        load_plain_pickle(str(path))


def test_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pkl'):
        load_plain_pickle(str(tmp_path / 'missing.pkl'))
    data = pickle.dumps(PLAIN, protocol=2)
    for name, content in (('trunc.pkl', data[:len(data) // 2]),
                          ('text.pkl', b'not a pickle at all'),
                          ('empty.pkl', b'')):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=name):
            load_plain_pickle(str(path))


def test_allow_numpy_loads_arrays_only(tmp_path):
    path = tmp_path / 'arrays.pkl'
    data = dict(x=np.arange(6, dtype=np.float32).reshape(2, 3),
                s=np.array(['a', 'bc']), n=np.int64(3), paths=['a.jpg'])
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    with pytest.raises(UnsafePickleError, match='numpy'):
        load_plain_pickle(path)  # arrays need allow_numpy
    out = load_plain_pickle(path, allow_numpy=True)
    assert np.array_equal(out['x'], data['x']) and out['x'].dtype == np.float32
    assert list(out['s']) == ['a', 'bc'] and out['n'] == 3
    with open(path, 'wb') as f:
        pickle.dump(np.array([1, 'x'], dtype=object), f)
    with pytest.raises(UnsafePickleError, match='object array'):
        load_plain_pickle(path, allow_numpy=True)
