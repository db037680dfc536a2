BEGIN TRANSACTION;
CREATE TABLE audit (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL, subject TEXT NOT NULL,
            details TEXT NOT NULL);
INSERT INTO "audit" VALUES(1,'2026-11-02T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "12"}');
INSERT INTO "audit" VALUES(2,'2026-11-03T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "13"}');
INSERT INTO "audit" VALUES(3,'2026-11-04T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "13"}');
INSERT INTO "audit" VALUES(4,'2026-11-05T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "13"}');
INSERT INTO "audit" VALUES(5,'2026-11-06T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "13"}');
INSERT INTO "audit" VALUES(6,'2026-11-07T09:00:00.000000+00:00','push','Contoso Ltd','{"quantity": "13"}');
CREATE TABLE explanation_parts (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, node INTEGER NOT NULL, body TEXT NOT NULL);
INSERT INTO "explanation_parts" VALUES(1,X'BFABE4D1F98BE37A0B92E2626D23BA27',0,'[{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2"]}]');
INSERT INTO "explanation_parts" VALUES(2,X'F14E1218CBB728D66DC999B24EE2561B',0,'0');
INSERT INTO "explanation_parts" VALUES(3,X'DF2E5425095E4354717EB11D0ED08CB2',0,'9');
INSERT INTO "explanation_parts" VALUES(4,X'4CB75106664B26D9F20011403C8309BE',1,'{"call": 2, "rows": 3}');
INSERT INTO "explanation_parts" VALUES(5,X'5D7628467AA56F015E552FFE87AAC2C1',1,'{"accounts": 1, "report": 4}');
INSERT INTO "explanation_parts" VALUES(6,X'C33F2B4877D8BEE96979E0221FE7E0FC',0,'[{"account": "acct-0", "users": ["user-0-0", "user-0-1", "user-0-2", "user-0-3"]}, {"account": "acct-1", "users": ["user-1-0", "user-1-1", "user-1-2", "user-1-3"]}, {"account": "acct-2", "users": ["user-2-0", "user-2-1", "user-2-2", "user-2-3"]}]');
INSERT INTO "explanation_parts" VALUES(7,X'3AD10D10C0AA4C851CFB907D0425693C',0,'10');
INSERT INTO "explanation_parts" VALUES(8,X'478CB069394DF9F74BB1430327CAC169',1,'{"call": 2, "rows": 7}');
INSERT INTO "explanation_parts" VALUES(9,X'4918D351CE97BB0DCE0DACC5CE40D8BD',1,'{"accounts": 6, "report": 8}');
INSERT INTO "explanation_parts" VALUES(10,X'1F99B522B2AE6FF780D92D8CED859453',0,'11');
INSERT INTO "explanation_parts" VALUES(11,X'1C80C902BCDC52684541494E44B24079',1,'{"call": 2, "rows": 10}');
INSERT INTO "explanation_parts" VALUES(12,X'8F44FE581965BD961750E37D37CD16EA',1,'{"accounts": 6, "report": 11}');
INSERT INTO "explanation_parts" VALUES(13,X'908022AE7031C08ECF902A8E4F22A0E6',0,'12');
INSERT INTO "explanation_parts" VALUES(14,X'4396035B7CA53B877BFD4560674688A2',2,'{"report": {"rows": 13}}');
INSERT INTO "explanation_parts" VALUES(15,X'E455BAE9255ADEDC35BBC4C90B02D523',0,'13');
INSERT INTO "explanation_parts" VALUES(16,X'8B5BB79448CE0C1C615038C693FE459C',2,'{"report": {"rows": 15}}');
INSERT INTO "explanation_parts" VALUES(17,X'6E3126418678FA0A8549060DF2239E14',0,'14');
INSERT INTO "explanation_parts" VALUES(18,X'AB41C2102D7ECFAE2B32ED86D243C3FF',2,'{"report": {"rows": 17}}');
CREATE TABLE fetches (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, requested_at TEXT NOT NULL,
            finished_at TEXT, outcome TEXT NOT NULL, status_code INTEGER, content_type TEXT,
            payload_hash TEXT, payload BLOB, error TEXT, run_id INTEGER REFERENCES runs(id), payload_kept INTEGER NOT NULL DEFAULT 0);
INSERT INTO "fetches" VALUES(1,'vendor','report-link','2026-11-02T09:00:00.000000+00:00','2026-11-02T09:00:00.000000+00:00','ok',200,'text/csv','231af77587f4dfae9de72437cf11ee8dc4d6f5b77bcc6984d8fb634676a90162',NULL,NULL,1,1);
INSERT INTO "fetches" VALUES(2,'vendor','report-link','2026-11-03T09:00:00.000000+00:00','2026-11-03T09:00:00.000000+00:00','ok',200,'text/csv','368bd3812e97c1b2ba33f4038aaeac74cedc79947912476a928a20e1ca397141',NULL,NULL,2,1);
INSERT INTO "fetches" VALUES(3,'vendor','report-link','2026-11-04T09:00:00.000000+00:00','2026-11-04T09:00:00.000000+00:00','ok',200,'text/csv','2d0a1593a78c07b0a9f2d113c8effc3c8ccd560c7c3dec15bc17b8102e18c553',NULL,NULL,3,1);
INSERT INTO "fetches" VALUES(4,'vendor','report-link','2026-11-05T09:00:00.000000+00:00','2026-11-05T09:00:00.000000+00:00','ok',200,'text/csv','f6a8101200a690856b6e629efea39dcfcc3b179d48df5e40b0c7826a733b2c8f',NULL,NULL,4,1);
INSERT INTO "fetches" VALUES(5,'vendor','report-link','2026-11-06T09:00:00.000000+00:00','2026-11-06T09:00:00.000000+00:00','ok',200,'text/csv','73754992d3b50178d4fc8a3a17d64aac678b2f420cba54884476a1d545e38a78',NULL,NULL,5,1);
INSERT INTO "fetches" VALUES(6,'vendor','report-link','2026-11-07T09:00:00.000000+00:00','2026-11-07T09:00:00.000000+00:00','ok',200,'text/csv','ee148152a1d73fe9574ce88f7d4a9284a5b6e6afac64817b8e4777cb4379c917',NULL,NULL,6,1);
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
INSERT INTO "line_item_history" VALUES(9,1,'2026-11-05T09:00:00.000000+00:00','pushed','13','45.5','PSA psa-3');
INSERT INTO "line_item_history" VALUES(10,2,'2026-11-05T09:00:00.000000+00:00','held','1300','130','a jump of 75% needs review');
INSERT INTO "line_item_history" VALUES(11,1,'2026-11-06T09:00:00.000000+00:00','pushed','13','45.5','PSA psa-4');
INSERT INTO "line_item_history" VALUES(12,2,'2026-11-06T09:00:00.000000+00:00','held','1600','160','a jump of 75% needs review');
INSERT INTO "line_item_history" VALUES(13,1,'2026-11-07T09:00:00.000000+00:00','pushed','13','45.5','PSA psa-5');
INSERT INTO "line_item_history" VALUES(14,2,'2026-11-07T09:00:00.000000+00:00','held','1900','190','a jump of 75% needs review');
CREATE TABLE line_items (
            id INTEGER PRIMARY KEY, psa_customer TEXT NOT NULL, contract TEXT NOT NULL, period_key TEXT NOT NULL,
            metric TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL, rate TEXT NOT NULL,
            amount TEXT NOT NULL, status TEXT NOT NULL, psa_ref TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT, inputs TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, pushed_quantity TEXT, pushed_at TEXT, hold_reason TEXT, approved_quantity TEXT, plan TEXT,
            UNIQUE (psa_customer, contract, period_key, metric));
INSERT INTO "line_items" VALUES(1,'Contoso Ltd','Backup users','2026-11','billed_users','13','user','3.50','45.5','pushed','psa-5',6,NULL,'{}','2026-11-02T09:00:00.000000+00:00','2026-11-07T09:00:00.000000+00:00','13','2026-11-07T09:00:00.000000+00:00',NULL,NULL,'{"amount": "45.5", "billing_period": "Monthly", "contract": "Backup users", "contract_id": null, "metric": "billed_users", "period_end": null, "period_key": "2026-11", "period_start": null, "psa": {}, "psa_customer": "Contoso Ltd", "psa_customer_id": null, "quantity": "13", "rate": "3.50", "start_date": null, "unit": "user"}');
INSERT INTO "line_items" VALUES(2,'Fabrikam','Backup storage','2026-11','storage_gb','1900','GB','0.10','190','held',NULL,0,NULL,'{}','2026-11-02T09:00:00.000000+00:00','2026-11-07T09:00:00.000000+00:00',NULL,NULL,'a jump of 75% needs review',NULL,'{"amount": "190", "billing_period": "Monthly", "contract": "Backup storage", "contract_id": null, "metric": "storage_gb", "period_end": null, "period_key": "2026-11", "period_start": null, "psa": {}, "psa_customer": "Fabrikam", "psa_customer_id": null, "quantity": "1900", "rate": "0.10", "start_date": null, "unit": "GB"}');
CREATE TABLE observation_batches (id INTEGER PRIMARY KEY, observed_at TEXT NOT NULL, fetch_id INTEGER, run_id INTEGER);
INSERT INTO "observation_batches" VALUES(1,'2026-11-05T09:00:00.000000+00:00',4,4);
INSERT INTO "observation_batches" VALUES(2,'2026-11-06T09:00:00.000000+00:00',5,5);
INSERT INTO "observation_batches" VALUES(3,'2026-11-07T09:00:00.000000+00:00',6,6);
CREATE TABLE observations (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, vendor_customer TEXT NOT NULL, metric TEXT NOT NULL,
            product TEXT NOT NULL DEFAULT '', period_key TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL,
            observed_at TEXT NOT NULL, complete INTEGER NOT NULL, inputs TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id), fetch_id INTEGER REFERENCES fetches(id), explanation_id INTEGER REFERENCES explanation_parts(id), repeats BLOB, last_seen_at TEXT);
INSERT INTO "observations" VALUES(1,'vendor','Contoso','billed_users','M365','2026-11','12','user','2026-11-02T09:00:00.000000+00:00',1,'',1,1,5,NULL,NULL);
INSERT INTO "observations" VALUES(2,'vendor','Contoso','billed_users','Endpoint','2026-11','12','user','2026-11-02T09:00:00.000000+00:00',1,'',1,1,5,NULL,NULL);
INSERT INTO "observations" VALUES(3,'vendor','Contoso','billed_users','M365','2026-11','13','user','2026-11-03T09:00:00.000000+00:00',1,'',2,2,9,NULL,NULL);
INSERT INTO "observations" VALUES(4,'vendor','Contoso','billed_users','Endpoint','2026-11','13','user','2026-11-03T09:00:00.000000+00:00',1,'',2,2,9,NULL,NULL);
INSERT INTO "observations" VALUES(5,'vendor','Contoso','billed_users','M365','2026-11','13','user','2026-11-04T09:00:00.000000+00:00',1,'',3,3,12,X'010E01100112','2026-11-07T09:00:00.000000+00:00');
INSERT INTO "observations" VALUES(6,'vendor','Contoso','billed_users','Endpoint','2026-11','13','user','2026-11-04T09:00:00.000000+00:00',1,'',3,3,12,X'010E01100112','2026-11-07T09:00:00.000000+00:00');
CREATE TABLE payloads (hash TEXT PRIMARY KEY, body BLOB NOT NULL, compressed INTEGER NOT NULL DEFAULT 0);
INSERT INTO "payloads" VALUES('231af77587f4dfae9de72437cf11ee8dc4d6f5b77bcc6984d8fb634676a90162',X'7265706F7274206F66206461792030',0);
INSERT INTO "payloads" VALUES('368bd3812e97c1b2ba33f4038aaeac74cedc79947912476a928a20e1ca397141',X'7265706F7274206F66206461792031',0);
INSERT INTO "payloads" VALUES('2d0a1593a78c07b0a9f2d113c8effc3c8ccd560c7c3dec15bc17b8102e18c553',X'7265706F7274206F66206461792032',0);
INSERT INTO "payloads" VALUES('f6a8101200a690856b6e629efea39dcfcc3b179d48df5e40b0c7826a733b2c8f',X'7265706F7274206F66206461792033',0);
INSERT INTO "payloads" VALUES('73754992d3b50178d4fc8a3a17d64aac678b2f420cba54884476a1d545e38a78',X'7265706F7274206F66206461792034',0);
INSERT INTO "payloads" VALUES('ee148152a1d73fe9574ce88f7d4a9284a5b6e6afac64817b8e4777cb4379c917',X'7265706F7274206F66206461792035',0);
CREATE TABLE runs (
            id INTEGER PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
            status TEXT NOT NULL, summary TEXT, pid INTEGER, host TEXT);
INSERT INTO "runs" VALUES(1,'sync','2026-11-02T09:00:00.000000+00:00','2026-11-02T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}',4242,'fixture-host');
INSERT INTO "runs" VALUES(2,'sync','2026-11-03T09:00:00.000000+00:00','2026-11-03T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}',4242,'fixture-host');
INSERT INTO "runs" VALUES(3,'sync','2026-11-04T09:00:00.000000+00:00','2026-11-04T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}',4242,'fixture-host');
INSERT INTO "runs" VALUES(4,'sync','2026-11-05T09:00:00.000000+00:00','2026-11-05T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}',4242,'fixture-host');
INSERT INTO "runs" VALUES(5,'sync','2026-11-06T09:00:00.000000+00:00','2026-11-06T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}',4242,'fixture-host');
INSERT INTO "runs" VALUES(6,'sync','2026-11-07T09:00:00.000000+00:00','2026-11-07T12:00:00.000000+00:00','held','{"held": 1, "pushed": 1}',4242,'fixture-host');
CREATE INDEX fetches_by_target ON fetches(source, target, requested_at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE INDEX observations_by_customer ON observations(source, vendor_customer COLLATE NOCASE, metric, product, period_key, id);
CREATE INDEX fetches_keeping ON fetches(payload_hash) WHERE payload_kept = 1;
CREATE INDEX observations_by_fetch ON observations(fetch_id);
COMMIT;
PRAGMA user_version = 7;
