// The local S/4's behaviour on change: after a create, update or delete through OData (V2 or
// V4), it raises the thin business event S/4's event enablement raises by default, a CloudEvent
// with the key only, and produces it to Kafka (structured mode, the key as the record key), as
// S/4 does through its event mesh to Kafka bridge.
//
// Settings (environment): KAFKA_BOOTSTRAP_SERVERS (where to produce; none: events are only
// logged), HUB_S4_EVENTS_TOPIC (default sap.s4.events), HUB_S4_SOURCE (the event source, default
// /default/sap.s4.beh/S4LCLNT100), HUB_KCAT (the producer, default kcat: Debian's Kafka client).
const cds = require("@sap/cds");
const { randomUUID } = require("crypto");
const { execFile } = require("child_process");

const LOG = cds.log("s4-events");
const topic = process.env.HUB_S4_EVENTS_TOPIC || "sap.s4.events";
const source = process.env.HUB_S4_SOURCE || "/default/sap.s4.beh/S4LCLNT100";
const kcat = process.env.HUB_KCAT || "kcat";

// Root entity → S/4 business object, its event type stem and key field.
const OBJECTS = {
  A_BusinessPartner: ["businesspartner", "BusinessPartner", "BusinessPartner"],
  A_Product: ["product", "Product", "Product"],
  A_SalesOrder: ["salesorder", "SalesOrder", "SalesOrder"],
};
const ACTIONS = { CREATE: "Created", UPDATE: "Changed", UPSERT: "Changed", DELETE: "Deleted" };

// The key of the changed object: from the written data, else from the request's key.
function keyOf(req, field, result) {
  const fromData = (d) => (d && typeof d === "object" ? d[field] : undefined);
  return fromData(result) || fromData(req.data) || (req.params && req.params[0] && (req.params[0][field] || req.params[0]));
}

function produce(key, event) {
  const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS;
  const line = JSON.stringify(event);
  if (!bootstrap) {
    LOG.info("no KAFKA_BOOTSTRAP_SERVERS; event not produced:", line);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    // -K: key and value on one line, split at the first tab.
    const child = execFile(kcat, ["-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-X", "message.timeout.ms=10000"],
      { timeout: 15000 }, (err, _out, stderr) => {
        if (err) LOG.error("producing the event failed:", err.message, stderr);
        else LOG.info("produced", event.type, key, "to", topic);
        resolve();
      });
    child.stdin.end(`${key}\t${line}\n`);
  });
}

cds.on("served", (services) => {
  for (const srv of Object.values(services)) {
    if (!(srv instanceof cds.ApplicationService)) continue;
    for (const [entity, [object, Object_, field]] of Object.entries(OBJECTS)) {
      if (!srv.entities[entity]) continue;
      srv.after(["CREATE", "UPDATE", "UPSERT", "DELETE"], entity, async (result, req) => {
        const key = keyOf(req, field, result);
        if (!key) return LOG.warn("no key for the event of", req.event, entity);
        const event = {
          specversion: "1.0",
          type: `sap.s4.beh.${object}.v1.${Object_}.${ACTIONS[req.event]}.v1`,
          source,
          id: randomUUID(),
          time: new Date().toISOString(),
          datacontenttype: "application/json",
          data: { [field]: String(key) },
        };
        await produce(String(key), event);
      });
    }
  }
});

// Loopback only (CDS_SERVER_HOST, default 127.0.0.1): cds.server listens on every interface.
cds.on("bootstrap", (app) => {
  const listen = app.listen.bind(app);
  app.listen = (port, ...rest) => listen(port, process.env.CDS_SERVER_HOST || "127.0.0.1", ...rest);
});

module.exports = cds.server;
