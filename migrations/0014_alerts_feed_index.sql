-- 0014: an index in the feed's own order, so a page of the feed reads its 21 newest
-- published alerts and stops, instead of reading every published alert and sorting them
-- (2,000 alerts made each GET /alerts sort 2,000 rows to show 20). published_at DESC then
-- id matches the feed's ORDER BY exactly, so SQLite needs no sort at all.

CREATE INDEX alerts_feed ON alerts (status, published_at DESC, id);
