BEGIN TRANSACTION;
CREATE TABLE alert_state (id INTEGER PRIMARY KEY CHECK (id = 1), told TEXT NOT NULL);
CREATE TABLE audit (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL, subject TEXT NOT NULL,
            details TEXT NOT NULL);
INSERT INTO "audit" VALUES(1,'2026-11-02T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "12"}');
INSERT INTO "audit" VALUES(2,'2026-11-03T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "13"}');
INSERT INTO "audit" VALUES(3,'2026-11-04T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "13"}');
CREATE TABLE explanation_digests (digest BLOB PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO "explanation_digests" VALUES(X'1F99B522B2AE6FF780D92D8CED859453',9);
INSERT INTO "explanation_digests" VALUES(X'3AD10D10C0AA4C851CFB907D0425693C',7);
INSERT INTO "explanation_digests" VALUES(X'6A78E4179B6D872C815EBFDED789B4DC',10);
INSERT INTO "explanation_digests" VALUES(X'797212C2F5306710656C68EC60662371',5);
INSERT INTO "explanation_digests" VALUES(X'BFABE4D1F98BE37A0B92E2626D23BA27',1);
INSERT INTO "explanation_digests" VALUES(X'C33F2B4877D8BEE96979E0221FE7E0FC',6);
INSERT INTO "explanation_digests" VALUES(X'DCB44725E4D8815FAE0D5C2BC2E0A720',4);
INSERT INTO "explanation_digests" VALUES(X'DF2E5425095E4354717EB11D0ED08CB2',3);
INSERT INTO "explanation_digests" VALUES(X'F14E1218CBB728D66DC999B24EE2561B',2);
CREATE TABLE "explanation_parts" (id INTEGER PRIMARY KEY, node INTEGER NOT NULL, body NOT NULL);
INSERT INTO "explanation_parts" VALUES(1,3,X'789C8BAE564A4C4ECE2FCD2B51B25200314B740D947414944A8B538B8A8142D16096AE014214C83644621B29C5D6EA28609A6288C5144324530C914C31C4698A1116538C904C314232C5086C4A2C00DE803B8C');
INSERT INTO "explanation_parts" VALUES(2,0,'0');
INSERT INTO "explanation_parts" VALUES(3,0,'9');
INSERT INTO "explanation_parts" VALUES(4,1,'{"call": 2, "rows": 3}');
INSERT INTO "explanation_parts" VALUES(5,1,'{"accounts": 1, "report": 4}');
INSERT INTO "explanation_parts" VALUES(6,5,'[1, "eLvegDuMi6bcRwi2MZV8h2DjMpFUnyLYIBNjAZRKRLM="]');
INSERT INTO "explanation_parts" VALUES(7,0,'10');
INSERT INTO "explanation_parts" VALUES(8,4,'[5, {"accounts": 6, "report": {"rows": 7}}]');
INSERT INTO "explanation_parts" VALUES(9,0,'11');
INSERT INTO "explanation_parts" VALUES(10,2,'{"report": {"rows": 9}}');
CREATE TABLE fetches (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, requested_at TEXT NOT NULL,
            finished_at TEXT, outcome TEXT NOT NULL, status_code INTEGER, content_type TEXT,
            payload_hash TEXT, payload BLOB, error TEXT, run_id INTEGER REFERENCES runs(id), payload_kept INTEGER NOT NULL DEFAULT 0);
INSERT INTO "fetches" VALUES(1,'vendor','report-link','2026-11-02T09:00:00.000000+00:00','2026-11-02T09:00:00.000000+00:00','ok',200,'text/csv','231af77587f4dfae9de72437cf11ee8dc4d6f5b77bcc6984d8fb634676a90162',NULL,NULL,1,1);
INSERT INTO "fetches" VALUES(2,'vendor','report-link','2026-11-03T09:00:00.000000+00:00','2026-11-03T09:00:00.000000+00:00','ok',200,'text/csv','368bd3812e97c1b2ba33f4038aaeac74cedc79947912476a928a20e1ca397141',NULL,NULL,2,1);
INSERT INTO "fetches" VALUES(3,'vendor','report-link','2026-11-04T09:00:00.000000+00:00','2026-11-04T09:00:00.000000+00:00','ok',200,'text/csv','2d0a1593a78c07b0a9f2d113c8effc3c8ccd560c7c3dec15bc17b8102e18c553',NULL,NULL,3,1);
CREATE TABLE line_item_history (
            id INTEGER PRIMARY KEY, line_id INTEGER NOT NULL REFERENCES line_items(id), at TEXT NOT NULL,
            status TEXT NOT NULL, quantity TEXT NOT NULL, amount TEXT NOT NULL, note TEXT);
INSERT INTO "line_item_history" VALUES(1,1,'2026-11-02T09:00:00.000000+00:00','pending','12','42','computed');
INSERT INTO "line_item_history" VALUES(2,1,'2026-11-02T09:00:00.000000+00:00','pushed','12','42','PSA psa-0');
INSERT INTO "line_item_history" VALUES(3,2,'2026-11-02T09:00:00.000000+00:00','held','400','40','a jump of 75% needs review');
INSERT INTO "line_item_history" VALUES(4,1,'2026-11-03T09:00:00.000000+00:00','pending','13','45.5','computed');
INSERT INTO "line_item_history" VALUES(5,1,'2026-11-03T09:00:00.000000+00:00','pushed','13','45.5','PSA psa-1');
INSERT INTO "line_item_history" VALUES(6,2,'2026-11-03T09:00:00.000000+00:00','held','700','70','a jump of 75% needs review');
INSERT INTO "line_item_history" VALUES(7,1,'2026-11-04T09:00:00.000000+00:00','pushed','13','45.5','PSA psa-2');
INSERT INTO "line_item_history" VALUES(8,2,'2026-11-04T09:00:00.000000+00:00','held','1000','100','a jump of 75% needs review');
CREATE TABLE line_items (
            id INTEGER PRIMARY KEY, psa_customer TEXT NOT NULL, contract TEXT NOT NULL, period_key TEXT NOT NULL,
            metric TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL, rate TEXT NOT NULL,
            amount TEXT NOT NULL, status TEXT NOT NULL, psa_ref TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT, inputs TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, pushed_quantity TEXT, pushed_at TEXT, hold_reason TEXT, approved_quantity TEXT, plan TEXT,
            UNIQUE (psa_customer, contract, period_key, metric));
INSERT INTO "line_items" VALUES(1,'Contoso Ltd','Backup users','2026-11','billed_users','13','user','3.50','45.5','pushed','psa-2',3,NULL,'{}','2026-11-02T09:00:00.000000+00:00','2026-11-04T09:00:00.000000+00:00','13','2026-11-04T09:00:00.000000+00:00',NULL,NULL,'{"amount": "45.5", "billing_period": "Monthly", "contract": "Backup users", "contract_id": null, "metric": "billed_users", "period_end": null, "period_key": "2026-11", "period_start": null, "psa": {}, "psa_customer": "Contoso Ltd", "psa_customer_id": null, "quantity": "13", "rate": "3.50", "start_date": null, "unit": "user"}');
INSERT INTO "line_items" VALUES(2,'Fabrikam','Backup storage','2026-11','storage_gb','1000','GB','0.10','100','held',NULL,0,NULL,'{}','2026-11-02T09:00:00.000000+00:00','2026-11-04T09:00:00.000000+00:00',NULL,NULL,'a jump of 75% needs review',NULL,'{"amount": "100", "billing_period": "Monthly", "contract": "Backup storage", "contract_id": null, "metric": "storage_gb", "period_end": null, "period_key": "2026-11", "period_start": null, "psa": {}, "psa_customer": "Fabrikam", "psa_customer_id": null, "quantity": "1000", "rate": "0.10", "start_date": null, "unit": "GB"}');
CREATE TABLE observation_batches (id INTEGER PRIMARY KEY, observed_at TEXT NOT NULL, fetch_id INTEGER, run_id INTEGER);
INSERT INTO "observation_batches" VALUES(1,'2026-11-02T09:00:00.000000+00:00',1,1);
INSERT INTO "observation_batches" VALUES(2,'2026-11-03T09:00:00.000000+00:00',2,2);
INSERT INTO "observation_batches" VALUES(3,'2026-11-04T09:00:00.000000+00:00',3,3);
CREATE TABLE observation_rows (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, batch_id INTEGER NOT NULL, quantity TEXT NOT NULL, complete INTEGER NOT NULL, inputs TEXT NOT NULL DEFAULT '', explanation_id INTEGER, repeats BLOB, last_batch INTEGER);
INSERT INTO "observation_rows" VALUES(1,1,1,'12',1,'',5,NULL,NULL);
INSERT INTO "observation_rows" VALUES(2,2,1,'12',1,'',5,NULL,NULL);
INSERT INTO "observation_rows" VALUES(3,1,2,'13',1,'',8,X'030A',3);
INSERT INTO "observation_rows" VALUES(4,2,2,'13',1,'',8,X'030A',3);
CREATE TABLE observation_series (id INTEGER PRIMARY KEY, source TEXT NOT NULL, vendor_customer TEXT NOT NULL, metric TEXT NOT NULL, product TEXT NOT NULL, period_key TEXT NOT NULL, unit TEXT NOT NULL);
INSERT INTO "observation_series" VALUES(1,'vendor','Contoso','billed_users','M365','2026-11','user');
INSERT INTO "observation_series" VALUES(2,'vendor','Contoso','billed_users','Endpoint','2026-11','user');
CREATE TABLE payloads (hash TEXT PRIMARY KEY, body BLOB NOT NULL, compressed INTEGER NOT NULL DEFAULT 0);
INSERT INTO "payloads" VALUES('231af77587f4dfae9de72437cf11ee8dc4d6f5b77bcc6984d8fb634676a90162',X'7265706F7274206F66206461792030',0);
INSERT INTO "payloads" VALUES('368bd3812e97c1b2ba33f4038aaeac74cedc79947912476a928a20e1ca397141',X'7265706F7274206F66206461792031',0);
INSERT INTO "payloads" VALUES('2d0a1593a78c07b0a9f2d113c8effc3c8ccd560c7c3dec15bc17b8102e18c553',X'7265706F7274206F66206461792032',0);
CREATE TABLE runs (
            id INTEGER PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
            status TEXT NOT NULL, summary TEXT, pid INTEGER, host TEXT);
INSERT INTO "runs" VALUES(1,'sync','2026-11-02T09:00:00.000000+00:00','2026-11-02T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}',4242,'fixture-host');
INSERT INTO "runs" VALUES(2,'sync','2026-11-03T09:00:00.000000+00:00','2026-11-03T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}',4242,'fixture-host');
INSERT INTO "runs" VALUES(3,'sync','2026-11-04T09:00:00.000000+00:00','2026-11-04T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}',4242,'fixture-host');
CREATE INDEX fetches_by_target ON fetches(source, target, requested_at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE INDEX fetches_keeping ON fetches(payload_hash) WHERE payload_kept = 1;
CREATE INDEX series_by_customer ON observation_series (source, vendor_customer COLLATE NOCASE, metric, product, period_key);
CREATE INDEX observation_rows_by_series ON observation_rows (series_id);
CREATE INDEX observation_batches_by_fetch ON observation_batches (fetch_id);
CREATE VIEW observations AS SELECT r.id, s.source, s.vendor_customer, s.metric, s.product, s.period_key, r.quantity, s.unit, b.observed_at, r.complete, r.inputs, b.run_id, b.fetch_id, r.explanation_id, r.repeats, l.observed_at AS last_seen_at, r.series_id, r.batch_id FROM observation_rows r JOIN observation_series s ON s.id = r.series_id JOIN observation_batches b ON b.id = r.batch_id LEFT JOIN observation_batches l ON l.id = r.last_batch;
COMMIT;
PRAGMA user_version = 10;
