BEGIN TRANSACTION;
CREATE TABLE audit (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL, subject TEXT NOT NULL,
            details TEXT NOT NULL);
INSERT INTO "audit" VALUES(1,'2026-11-02T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "12"}');
INSERT INTO "audit" VALUES(2,'2026-11-03T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "13"}');
INSERT INTO "audit" VALUES(3,'2026-11-04T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "13"}');
CREATE TABLE fetches (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, requested_at TEXT NOT NULL,
            finished_at TEXT, outcome TEXT NOT NULL, status_code INTEGER, content_type TEXT,
            payload_hash TEXT, payload BLOB, error TEXT, run_id INTEGER REFERENCES runs(id));
INSERT INTO "fetches" VALUES(1,'vendor','report-link','2026-11-02T09:00:00.000000+00:00','2026-11-02T09:00:00.000000+00:00','ok',200,'text/csv','231af77587f4dfae9de72437cf11ee8dc4d6f5b77bcc6984d8fb634676a90162',X'7265706F7274206F66206461792030',NULL,1);
INSERT INTO "fetches" VALUES(2,'vendor','report-link','2026-11-03T09:00:00.000000+00:00','2026-11-03T09:00:00.000000+00:00','ok',200,'text/csv','368bd3812e97c1b2ba33f4038aaeac74cedc79947912476a928a20e1ca397141',X'7265706F7274206F66206461792031',NULL,2);
INSERT INTO "fetches" VALUES(3,'vendor','report-link','2026-11-04T09:00:00.000000+00:00','2026-11-04T09:00:00.000000+00:00','ok',200,'text/csv','2d0a1593a78c07b0a9f2d113c8effc3c8ccd560c7c3dec15bc17b8102e18c553',X'7265706F7274206F66206461792032',NULL,3);
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
INSERT INTO "line_items" VALUES(1,'Contoso Ltd','Backup users','2026-11','billed_users','13','user','3.50','45.5','pushed','psa-2',3,NULL,'{"users": 13}','2026-11-02T09:00:00.000000+00:00','2026-11-04T09:00:00.000000+00:00','13','2026-11-04T09:00:00.000000+00:00',NULL,NULL,'{}');
INSERT INTO "line_items" VALUES(2,'Fabrikam','Backup storage','2026-11','storage_gb','1000','GB','0.10','100','held',NULL,0,NULL,'{}','2026-11-02T09:00:00.000000+00:00','2026-11-04T09:00:00.000000+00:00',NULL,NULL,'a jump of 75% needs review',NULL,'{}');
CREATE TABLE observations (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, vendor_customer TEXT NOT NULL, metric TEXT NOT NULL,
            product TEXT NOT NULL DEFAULT '', period_key TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL,
            observed_at TEXT NOT NULL, complete INTEGER NOT NULL, inputs TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id), fetch_id INTEGER REFERENCES fetches(id));
INSERT INTO "observations" VALUES(1,'vendor','Contoso','billed_users','M365','2026-11','12','user','2026-11-02T09:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2"]}], "report": {"call": 0, "rows": 9}}',1,1);
INSERT INTO "observations" VALUES(2,'vendor','Contoso','billed_users','Endpoint','2026-11','12','user','2026-11-02T09:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2"]}], "report": {"call": 0, "rows": 9}}',1,1);
INSERT INTO "observations" VALUES(3,'vendor','Contoso','billed_users','M365','2026-11','12','user','2026-11-02T10:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2"]}], "report": {"call": 1, "rows": 9}}',1,1);
INSERT INTO "observations" VALUES(4,'vendor','Contoso','billed_users','Endpoint','2026-11','12','user','2026-11-02T10:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2"]}], "report": {"call": 1, "rows": 9}}',1,1);
INSERT INTO "observations" VALUES(5,'vendor','Contoso','billed_users','M365','2026-11','12','user','2026-11-02T11:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2"]}], "report": {"call": 2, "rows": 9}}',1,1);
INSERT INTO "observations" VALUES(6,'vendor','Contoso','billed_users','Endpoint','2026-11','12','user','2026-11-02T11:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2"]}], "report": {"call": 2, "rows": 9}}',1,1);
INSERT INTO "observations" VALUES(7,'vendor','Contoso','billed_users','M365','2026-11','13','user','2026-11-03T09:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 0, "rows": 10}}',2,2);
INSERT INTO "observations" VALUES(8,'vendor','Contoso','billed_users','Endpoint','2026-11','13','user','2026-11-03T09:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 0, "rows": 10}}',2,2);
INSERT INTO "observations" VALUES(9,'vendor','Contoso','billed_users','M365','2026-11','13','user','2026-11-03T10:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 1, "rows": 10}}',2,2);
INSERT INTO "observations" VALUES(10,'vendor','Contoso','billed_users','Endpoint','2026-11','13','user','2026-11-03T10:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 1, "rows": 10}}',2,2);
INSERT INTO "observations" VALUES(11,'vendor','Contoso','billed_users','M365','2026-11','13','user','2026-11-03T11:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 2, "rows": 10}}',2,2);
INSERT INTO "observations" VALUES(12,'vendor','Contoso','billed_users','Endpoint','2026-11','13','user','2026-11-03T11:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 2, "rows": 10}}',2,2);
INSERT INTO "observations" VALUES(13,'vendor','Contoso','billed_users','M365','2026-11','13','user','2026-11-04T09:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 0, "rows": 11}}',3,3);
INSERT INTO "observations" VALUES(14,'vendor','Contoso','billed_users','Endpoint','2026-11','13','user','2026-11-04T09:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 0, "rows": 11}}',3,3);
INSERT INTO "observations" VALUES(15,'vendor','Contoso','billed_users','M365','2026-11','13','user','2026-11-04T10:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 1, "rows": 11}}',3,3);
INSERT INTO "observations" VALUES(16,'vendor','Contoso','billed_users','Endpoint','2026-11','13','user','2026-11-04T10:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 1, "rows": 11}}',3,3);
INSERT INTO "observations" VALUES(17,'vendor','Contoso','billed_users','M365','2026-11','13','user','2026-11-04T11:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 2, "rows": 11}}',3,3);
INSERT INTO "observations" VALUES(18,'vendor','Contoso','billed_users','Endpoint','2026-11','13','user','2026-11-04T11:00:00.000000+00:00',1,'{"accounts": [{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}], "report": {"call": 2, "rows": 11}}',3,3);
CREATE TABLE runs (
            id INTEGER PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
            status TEXT NOT NULL, summary TEXT);
INSERT INTO "runs" VALUES(1,'sync','2026-11-02T09:00:00.000000+00:00','2026-11-02T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}');
INSERT INTO "runs" VALUES(2,'sync','2026-11-03T09:00:00.000000+00:00','2026-11-03T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}');
INSERT INTO "runs" VALUES(3,'sync','2026-11-04T09:00:00.000000+00:00','2026-11-04T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}');
CREATE INDEX fetches_by_target ON fetches(source, target, requested_at);
CREATE INDEX observations_by_key ON observations(source, vendor_customer, metric, period_key, product);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
COMMIT;
PRAGMA user_version = 2;
