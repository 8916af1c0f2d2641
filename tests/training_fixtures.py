"""Fixtures of the training tests, imported where they are used (a conftest.py in
tests/export would shadow the top one for modules that import `conftest`): torch on one
thread (figures that compare runs must not depend on how a sum was split across threads)
and a toy corpus on disk."""

import pytest

from toy_corpus import toy_corpus


@pytest.fixture
def one_thread():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def toy_path(tmp_path):
    from export.corpus.building import save_corpus

    return save_corpus(toy_corpus(), tmp_path / "toy.npz")
