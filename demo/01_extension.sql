-- the extension is loaded, and its settings
\pset footer off
SELECT extname, extversion, n.nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'ai_guard';

SHOW shared_preload_libraries;

-- every ai_guard setting, who may change it, and its value here
SELECT name, setting, context, short_desc
  FROM pg_settings WHERE name LIKE 'ai\_guard.%' ORDER BY name;

-- a data scientist declares why they read data
SET ai_guard.purpose = 'training:churn-v3';
SHOW ai_guard.purpose;

-- the demo data set: customers and support tickets from three sources
SELECT source, license, consent, count(*) AS customers
  FROM demo.customers GROUP BY 1, 2, 3 ORDER BY 1;

SELECT customer_id, full_name, email, phone, card_number, iban
  FROM demo.customers ORDER BY customer_id LIMIT 3;

SELECT ticket_id, customer_id, left(body, 110) AS body
  FROM demo.tickets ORDER BY ticket_id LIMIT 3;
