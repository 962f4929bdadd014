"""Process memory settings: normalising posts does not fault memory in again for every post, and objects built at
start stay out of the collector's sight."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import pytest

from bot.ops.memory import freeze_startup_objects

# Run in a fresh interpreter: the heap's history decides whether the churn shows, and the test process's history is
# whatever the tests before it left.
PARSE_500_POSTS = textwrap.dedent(
    """
    import resource, sys
    from bot.ops.memory import tune_heap
    from bot.sources.mastodon.html import html_to_text

    if sys.argv[1] == "pad":
        assert tune_heap()
    posts = [
        f'<p>post {i} <a href="https://x.example/tags/koffie" class="mention hashtag">#<span>koffie</span></a></p>'
        * (1 + i % 3)
        for i in range(600)
    ]
    for html in posts[:100]:
        html_to_text(html)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for html in posts[100:]:
        html_to_text(html)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


ALLOCATE_2000_LARGE_BLOCKS = textwrap.dedent(
    """
    import ctypes, resource
    from bot.ops.memory import tune_heap

    assert tune_heap()
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(2000):  # a 300 KB page of JSON, say, read and dropped
        block = libc.malloc(300_000)
        libc.memset(block, 1, 300_000)
        libc.free(block)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def page_faults_for_500_posts(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PARSE_500_POSTS, mode], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the setting is glibc's")
def test_with_the_heap_pad_500_posts_are_parsed_without_faulting_memory_in_again() -> None:
    # Without the pad this was about 5,500 page faults (11 per post); with it, a handful for the whole run.
    assert page_faults_for_500_posts("pad") < 100


def test_objects_built_before_the_freeze_are_no_longer_walked_by_collections() -> None:
    built_at_start = {"lexicon": ["goed", "slecht"]}
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        assert not any(o is built_at_start for o in gc.get_objects())
        made_later = {"post": ["nieuw"]}
        assert any(o is made_later for o in gc.get_objects())
    finally:
        gc.unfreeze()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the setting is glibc's")
def test_large_blocks_are_reused_too_not_mapped_afresh_each_time() -> None:
    # With the pad alone, glibc stopped raising its mmap threshold: 148,000 page faults here instead of about 100.
    out = subprocess.run([sys.executable, "-c", ALLOCATE_2000_LARGE_BLOCKS], check=True, capture_output=True, text=True)
    assert int(out.stdout.strip()) < 1000
