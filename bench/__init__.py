"""`make bench`: the figures issue 12 asks for, each against a baseline measured in the
same run, interleaved A/B/A/B because these machines are noisy. See README.md."""
