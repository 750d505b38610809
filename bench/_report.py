"""One way for every bench to report a measured ratio against its bound: three decimal places
(0.698 is not "0.70"), the bound beside it, and the failed ones named at the end.

    report = Report()
    report.at_least("throughput ratio", ratio, 0.7)
    report.at_most("memory growth", growth, 0.10)
    sys.exit(report.finish())
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Report:
    failed: list[str] = field(default_factory=list)

    def _line(self, name: str, value: float, words: str, bound: float, ok: bool) -> None:
        mark = "ok" if ok else "FAILED"
        print(f"{name:<28}: {value:9.3f} ({words} {bound:.3f}) {mark}")
        if not ok:
            self.failed.append(f"{name} {value:.3f} is not {words} {bound:.3f}")

    def at_least(self, name: str, value: float, bound: float) -> bool:
        self._line(name, value, "at least", bound, value >= bound)
        return value >= bound

    def at_most(self, name: str, value: float, bound: float) -> bool:
        self._line(name, value, "at most", bound, value <= bound)
        return value <= bound

    def finish(self) -> int:
        """The exit status: 1 when a bound failed, after naming each one."""
        for failure in self.failed:
            print(f"FAILED: {failure}")
        return 1 if self.failed else 0
