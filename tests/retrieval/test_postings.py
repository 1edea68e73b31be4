"""Segments' postings read from many threads at once."""

import threading

from retrieval.postings import Segment
from retrieval.types import DocumentRef, Sentence


def rows_found_concurrently(segment: Segment, sentence: Sentence, threads: int) -> list:
    found = []

    def look_up():
        found.append(segment.row_of(sentence))

    workers = [threading.Thread(target=look_up) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return found


def test_row_lookups_from_many_threads_at_once_all_find_the_sentence():
    # Questions are ranked in worker threads; the first lookups on a new segment race to
    # build its id -> row map, and none may see it half built (neighbours would KeyError).
    ref = DocumentRef(1, "t", "s")
    sentences = [Sentence(i, ref, i + 1, "x") for i in range(200_000)]
    for _ in range(3):
        segment = Segment.build(sentences, [[] for _ in sentences])
        assert rows_found_concurrently(segment, sentences[-1], 4) == [len(sentences) - 1] * 4
