"""What a service with a firehose (a PDS, the relay) offers: its recorded stream and replays."""

from __future__ import annotations

from ..protocol.firehose import FirehoseEvent, FirehoseRecorder, parse_cursor, replay, subscribe_url


class FirehoseSource:
    """Mixin for a world object with ``url``, ``timeout`` and ``stream_name``."""

    url: str
    timeout: float
    stream_name: str
    _firehose: FirehoseRecorder | None = None

    @property
    def firehose(self) -> FirehoseRecorder:
        """The service's event stream, recorded from its first event on.

        The subscription starts on first use with cursor 0, so the service
        replays everything it still has before streaming live events; it is
        opened again if the service closed it (a restarted relay).
        """
        if self._firehose is None or self._firehose.closed:
            url = subscribe_url(self.url, cursor=0)
            self._firehose = FirehoseRecorder(url, name=self.stream_name, open_timeout=self.timeout).start()
        return self._firehose

    @property
    def firehose_started(self) -> bool:
        """True once something subscribed to the service's firehose."""
        return self._firehose is not None

    @property
    def recorded_events(self) -> list[FirehoseEvent]:
        """What the recorder holds, without subscribing (again): empty if nothing recorded."""
        return self._firehose.events if self._firehose is not None else []

    def replay_firehose(self, cursor: int | str, *, head: int) -> list[FirehoseEvent]:
        """Events a new subscription from ``cursor`` receives, up to the service's ``head`` (known beforehand).

        Raises :class:`~atproto_bdd.protocol.firehose.FirehoseError` if the
        replay does not reach ``head`` in time, or the service sends an error.
        """
        url = subscribe_url(self.url, cursor=parse_cursor(cursor))
        return replay(url, until_seq=head, timeout=self.timeout, open_timeout=self.timeout)

    def close_firehose(self) -> None:
        """Close the recorded subscription, if any."""
        if self._firehose is not None:
            self._firehose.close()
