// The fixture of 11-filter.test.mjs: a small Hagen sensor network with
// known contents, built over HTTP.  Every entity gets a symbolic name
// (T1, L5, D3, MD1, OP7, S2, F3, O27, ...); the table of 11-filter names
// its expected answers with these, and buildFixture() maps them to ids.
//
// The comments next to each entity give the facts the expected answers
// are computed from (by hand: nothing here asks the server).

import { OT } from './harness.mjs';

export const SET_OF_PREFIX = {
    T: 'Things', L: 'Locations', H: 'HistoricalLocations', D: 'Datastreams', MD: 'MultiDatastreams',
    S: 'Sensors', OP: 'ObservedProperties', O: 'Observations', F: 'FeaturesOfInterest',
};

export function setOfName(name) {
    const m = /^(MD|OP|[TLHDSOF])\d+$/.exec(name);
    if (!m) throw new Error(`bad fixture name ${name}`);
    return SET_OF_PREFIX[m[1]];
}

// Geometry (lon lat), all WGS 84 degrees.
//   L1 Point(7.46 51.37)            Pegel Eckesey       (T1)
//   L7 LineString(7.40 51.40, 7.50 51.40, 7.50 51.45)  length 0.15 (T1, second location)
//   L2 Point(7.55 51.36)            Pegel Hohenlimburg  (T2)
//   L3 Point(7.47 51.36)            Friedrich-Ebert-Platz (T3); lies on the top edge of L5
//   L4 Point(7.474 51.359)          Rathaus             (T4); inside L5
//   L5 Polygon((7.46 51.35, 7.48 51.35, 7.48 51.36, 7.46 51.36, 7.46 51.35))  Volkspark (T5)
//   L6 text/plain "Eilpe, Am Bahnhof" (not GeoJSON)    (T6)
//   T7 has no Location and no Datastream.
//   F1 Point(7.46 51.37)  F2 Point(7.55 51.36)
//   F3 Feature{Polygon((7.46 51.35, 7.48 51.35, 7.48 51.365, 7.46 51.365, 7.46 51.35))}
//   F4 Point(7.49 51.34)
const GEO = 'application/geo+json';
const poly = (ring) => ({ type: 'Polygon', coordinates: [ring] });

export const LOCATIONS = {
    L1: { name: 'Pegel Eckesey', description: 'Pegelhaus an der Volme', encodingType: GEO, location: { type: 'Point', coordinates: [7.46, 51.37] } },
    L2: { name: 'Pegel Hohenlimburg', description: 'Pegelhaus an der Lenne', encodingType: GEO, location: { type: 'Point', coordinates: [7.55, 51.36] } },
    L3: { name: 'Friedrich-Ebert-Platz', description: 'Platz in der Innenstadt', encodingType: GEO, location: { type: 'Point', coordinates: [7.47, 51.36] } },
    L4: { name: 'Rathaus', description: 'Rathaus an der Volme', encodingType: GEO, location: { type: 'Point', coordinates: [7.474, 51.359] } },
    L5: { name: 'Volkspark', description: 'Park am Hauptbahnhof', encodingType: GEO,
        location: poly([[7.46, 51.35], [7.48, 51.35], [7.48, 51.36], [7.46, 51.36], [7.46, 51.35]]) },
    L6: { name: 'Eilpe Bahnhof', description: 'Adresse ohne Koordinaten', encodingType: 'text/plain', location: 'Eilpe, Am Bahnhof' },
    L7: { name: 'Volme-Abschnitt', description: 'Flussabschnitt', encodingType: GEO,
        location: { type: 'LineString', coordinates: [[7.40, 51.40], [7.50, 51.40], [7.50, 51.45]] } },
};

// name / description / properties; Locations by fixture name.
export const THINGS = {
    T1: { name: 'Pegel Volme Eckesey', description: 'Wasserstandspegel an der Volme', locs: ['L1', 'L7'],
        properties: { owner: { name: 'WBH', since: 2019 }, serial: 'PV-001', depth: 2.5, active: true, tags: ['water', 'level'], rank: 1 } },
    T2: { name: 'Pegel Lenne Hohenlimburg', description: 'Wasserstandspegel an der Lenne', locs: ['L2'],
        properties: { owner: { name: 'Ruhrverband', since: 2015 }, serial: 'PL-002', depth: 4, active: true, tags: ['water'], rank: 2 } },
    T3: { name: 'Abfallbehälter Friedrich-Ebert-Platz', description: 'Füllstandssensor im Abfallbehälter', locs: ['L3'],
        properties: { owner: { name: 'HEB' }, serial: 'AB-003', active: false, capacityLiters: 120, rank: 3 } },
    T4: { name: 'Klimastation Rathaus', description: 'Temperatur und Luftfeuchte am Rathaus', locs: ['L4'],
        properties: { owner: { name: 'Stadt Hagen' }, serial: 'KS-004', active: true, height: 3.5, rank: 4 } },
    T5: { name: 'Bodenfeuchte Volkspark', description: '  Bodenfeuchte im Volkspark  ', locs: ['L5'],
        properties: { owner: { name: 'WBH' }, serial: 'BF-005', active: true, note: "it's wet" } },
    T6: { name: 'Regenmesser Eilpe', description: 'Niederschlag in Eilpe', locs: ['L6'],
        properties: { owner: { name: 'Stadt Hagen' }, serial: 'RM-006' } },
    T7: { name: 'Parkhaus Springe', description: 'Geplanter Standort', locs: [] },
};

export const SENSORS = {
    S1: { name: 'Pegelsonde PS-100', description: 'Drucksonde', encodingType: 'application/pdf', metadata: 'https://example.org/ps100.pdf' },
    S2: { name: 'Ultraschall-Füllstand', description: 'Ultraschallsensor', encodingType: 'application/pdf', metadata: 'https://example.org/us.pdf' },
    S3: { name: 'Klimasensor', description: 'Temperatur, Feuchte', encodingType: 'application/pdf', metadata: 'https://example.org/klima.pdf' },
    S4: { name: 'Regenwippe', description: 'Kippwaage', encodingType: 'application/pdf', metadata: 'https://example.org/rain.pdf' },
};

export const OPS = {
    OP1: { name: 'Wasserstand', definition: 'http://dbpedia.org/page/Water_level', description: 'Pegelstand' },
    OP2: { name: 'Füllstand', definition: 'https://example.org/def/fill-level', description: 'Füllgrad eines Behälters' },
    OP3: { name: 'Lufttemperatur', definition: 'http://dbpedia.org/page/Temperature', description: 'Temperatur der Luft' },
    OP4: { name: 'Relative Luftfeuchte', definition: 'http://dbpedia.org/page/Humidity', description: 'Luftfeuchte' },
    OP5: { name: 'Bodenfeuchte', definition: 'https://example.org/def/soil-moisture', description: 'Feuchte im Boden' },
    OP6: { name: 'Niederschlag', definition: 'http://dbpedia.org/page/Precipitation', description: 'Regen' },
    OP7: { name: 'Status', definition: 'https://example.org/def/status', description: 'Gerätestatus' },
};

export const FOIS = {
    F1: { name: 'Volme bei Eckesey', description: 'Fluss', encodingType: GEO, feature: { type: 'Point', coordinates: [7.46, 51.37] } },
    F2: { name: 'Lenne bei Hohenlimburg', description: 'Fluss', encodingType: GEO, feature: { type: 'Point', coordinates: [7.55, 51.36] } },
    F3: { name: 'Innenstadt', description: 'Innenstadt Hagen', encodingType: GEO,
        feature: { type: 'Feature', properties: { district: 'Mitte' },
            geometry: poly([[7.46, 51.35], [7.48, 51.35], [7.48, 51.365], [7.46, 51.365], [7.46, 51.35]]) } },
    F4: { name: 'Eilpe', description: 'Stadtteil', encodingType: GEO, feature: { type: 'Point', coordinates: [7.49, 51.34] } },
};

const uom = (name, symbol, definition) => ({ name, symbol, definition });
const CM = uom('Zentimeter', 'cm', 'http://unitsofmeasure.org/ucum.html#cm');
const PCT = uom('Prozent', '%', 'http://unitsofmeasure.org/ucum.html#%');
const CEL = uom('Grad Celsius', '°C', 'http://unitsofmeasure.org/ucum.html#Cel');

export const DATASTREAMS = {
    D1: { name: 'Wasserstand Volme Eckesey', description: 'Pegel Volme', thing: 'T1', sensor: 'S1', op: 'OP1', uom: CM, ot: OT.measurement,
        properties: { threshold: 150, river: 'Volme' } },
    D2: { name: 'Wasserstand Lenne', description: 'Pegel Lenne', thing: 'T2', sensor: 'S1', op: 'OP1', uom: CM, ot: OT.measurement,
        properties: { threshold: 300, river: 'Lenne' } },
    D3: { name: 'Füllstand Abfallbehälter', description: 'Füllgrad', thing: 'T3', sensor: 'S2', op: 'OP2', uom: PCT, ot: OT.measurement },
    D4: { name: 'Lufttemperatur Rathaus', description: 'Temperatur', thing: 'T4', sensor: 'S3', op: 'OP3', uom: CEL, ot: OT.measurement },
    D5: { name: 'Status Klimastation', description: 'Status', thing: 'T4', sensor: 'S3', op: 'OP7', uom: uom('', '', ''), ot: OT.category },
    D6: { name: 'Bodenfeuchte Volkspark', description: 'Boden', thing: 'T5', sensor: 'S3', op: 'OP5', uom: PCT, ot: OT.observation },
    D7: { name: 'Regen erkannt Eilpe', description: 'Regen ja/nein', thing: 'T6', sensor: 'S4', op: 'OP6', uom: uom('', '', ''), ot: OT.truth },
};

export const MULTIDATASTREAMS = {
    MD1: { name: 'Wetter Rathaus', description: 'Temperatur und Feuchte', thing: 'T4', sensor: 'S3', ops: ['OP3', 'OP4'],
        uoms: [CEL, PCT], types: [OT.measurement, OT.measurement] },
};

// Observations, in creation order O1..O40.
//   pt: phenomenonTime (instant or interval), rt: resultTime, vt: validTime,
//   params: parameters, foi: FeatureOfInterest, ds / md: the stream.
export const OBSERVATIONS = [
    // D1 Volme water level (cm), F1
    { n: 'O1', ds: 'D1', foi: 'F1', pt: '2026-03-01T00:00:00Z', result: 120, rt: '2026-03-01T00:00:05Z', params: { rssi: -87, gateway: 'gw-eilpe', sf: 7 } },
    { n: 'O2', ds: 'D1', foi: 'F1', pt: '2026-03-01T01:00:00Z', result: 135.5, rt: '2026-03-01T01:00:05Z', params: { rssi: -95, gateway: 'gw-rathaus', sf: 9 } },
    { n: 'O3', ds: 'D1', foi: 'F1', pt: '2026-03-01T02:00:00Z', result: 151, params: { rssi: -101, gateway: 'gw-eilpe', sf: 12 } },
    { n: 'O4', ds: 'D1', foi: 'F1', pt: '2026-03-01T03:00:00Z', result: 149.9, rt: '2026-03-01T03:00:05Z' },
    { n: 'O5', ds: 'D1', foi: 'F1', pt: '2026-03-01T04:30:15.250Z', result: 160, rt: '2026-03-01T04:30:20Z', params: { rssi: -87, gateway: 'gw-rathaus' } },
    // D2 Lenne water level (cm), F2
    { n: 'O6', ds: 'D2', foi: 'F2', pt: '2026-03-01T00:00:00Z', result: 280 },
    { n: 'O7', ds: 'D2', foi: 'F2', pt: '2026-03-01T12:00:00Z', result: 310 },
    { n: 'O8', ds: 'D2', foi: 'F2', pt: '2026-03-02T12:00:00Z', result: 305, params: { rssi: -70, gateway: 'gw-lenne', tags: ['flood', 'alert'] } },
    { n: 'O9', ds: 'D2', foi: 'F2', pt: '2026-02-28T23:59:59Z', result: -5 },
    // D3 waste bin fill level (%), F3
    { n: 'O10', ds: 'D3', foi: 'F3', pt: '2026-03-01T06:00:00Z', result: 10 },
    { n: 'O11', ds: 'D3', foi: 'F3', pt: '2026-03-01T12:00:00Z', result: 55 },
    { n: 'O12', ds: 'D3', foi: 'F3', pt: '2026-03-01T18:00:00Z', result: 85 },
    { n: 'O13', ds: 'D3', foi: 'F3', pt: '2026-03-02T06:00:00Z', result: 95.5 },
    { n: 'O14', ds: 'D3', foi: 'F3', pt: '2026-03-02T07:00:00Z', result: 0 },
    // D4 air temperature (°C), F3: intervals and instants
    { n: 'O15', ds: 'D4', foi: 'F3', pt: '2026-03-01T00:00:00Z/2026-03-01T01:00:00Z', result: 3.5 },
    { n: 'O16', ds: 'D4', foi: 'F3', pt: '2026-03-01T01:00:00Z/2026-03-01T02:00:00Z', result: -1.5 },
    { n: 'O17', ds: 'D4', foi: 'F3', pt: '2026-03-01T10:00:00Z/2026-03-01T12:00:00Z', result: 8.25, vt: '2026-03-01T10:00:00Z/2026-03-01T14:00:00Z' },
    { n: 'O18', ds: 'D4', foi: 'F3', pt: '2026-03-01T11:00:00Z', result: 7 },
    { n: 'O19', ds: 'D4', foi: 'F3', pt: '2026-07-15T14:30:00+02:00', result: 28.5, rt: '2026-07-15T12:31:00Z' },
    { n: 'O20', ds: 'D4', foi: 'F3', pt: '2025-12-31T23:00:00Z/2026-01-01T01:00:00Z', result: -7.5, rt: '2026-01-01T01:00:00Z' },
    // D5 status strings (category), F3
    { n: 'O21', ds: 'D5', foi: 'F3', pt: '2026-03-01T00:00:00Z', result: 'ok' },
    { n: 'O22', ds: 'D5', foi: 'F3', pt: '2026-03-01T06:00:00Z', result: 'warning: sensor drift' },
    { n: 'O23', ds: 'D5', foi: 'F3', pt: '2026-03-01T12:00:00Z', result: 'OK' },
    { n: 'O24', ds: 'D5', foi: 'F3', pt: '2026-03-01T18:00:00Z', result: '10' },
    { n: 'O25', ds: 'D5', foi: 'F3', pt: '2026-03-02T00:00:00Z', result: '  padded  ' },
    { n: 'O26', ds: 'D5', foi: 'F3', pt: '2026-03-02T06:00:00Z', result: "Müller's Straße" },
    // D6 soil (OM_Observation: any result), F3
    { n: 'O27', ds: 'D6', foi: 'F3', pt: '2026-03-03T00:00:00Z', result: { moisture: 31.5, temp: 9, status: 'dry' } },
    { n: 'O28', ds: 'D6', foi: 'F3', pt: '2026-03-03T01:00:00Z', result: { moisture: 45, temp: 11, status: 'wet' } },
    { n: 'O29', ds: 'D6', foi: 'F3', pt: '2026-03-03T02:00:00Z', result: true },
    { n: 'O30', ds: 'D6', foi: 'F3', pt: '2026-03-03T03:00:00Z', result: 1 },
    { n: 'O31', ds: 'D6', foi: 'F3', pt: '2026-03-03T04:00:00Z', result: null },
    { n: 'O32', ds: 'D6', foi: 'F3', pt: '2026-03-03T05:00:00Z', result: [1, 2, 3] },
    { n: 'O33', ds: 'D6', foi: 'F3', pt: '2026-03-03T06:00:00Z', result: 0 },
    { n: 'O34', ds: 'D6', foi: 'F3', pt: '2026-03-03T07:00:00Z', result: false },
    // D7 rain detected (truth), F4
    { n: 'O35', ds: 'D7', foi: 'F4', pt: '2026-03-01T00:00:00Z', result: true, rt: '2026-03-01T00:00:01.500Z', params: { rssi: -110, gateway: 'gw-eilpe' } },
    { n: 'O36', ds: 'D7', foi: 'F4', pt: '2026-03-01T01:00:00Z', result: false, params: { rssi: -80, gateway: 'gw-eilpe' } },
    { n: 'O37', ds: 'D7', foi: 'F4', pt: '2026-03-01T02:00:00Z', result: true },
    // MD1 weather at the town hall: [°C, %], F3
    { n: 'O38', md: 'MD1', foi: 'F3', pt: '2026-03-01T00:00:00Z', result: [3.5, 81] },
    { n: 'O39', md: 'MD1', foi: 'F3', pt: '2026-03-01T12:00:00Z', result: [9.5, 60] },
    { n: 'O40', md: 'MD1', foi: 'F3', pt: '2026-03-01T12:00:00Z/2026-03-01T13:00:00Z', result: [10.5, 55],
        vt: '2026-03-01T12:00:00Z/2026-03-01T18:00:00Z', quality: { flag: 'good' } },
];

// Creates everything; returns {id: name -> id, name: set -> (id -> name)}.
export async function buildFixture(srv) {
    const id = {};
    const name = {};
    const remember = (n, e) => {
        id[n] = e['@iot.id'];
        const set = setOfName(n);
        (name[set] = name[set] || {})[e['@iot.id']] = n;
    };
    for (const [n, body] of Object.entries(LOCATIONS)) remember(n, await srv.create('Locations', body));
    for (const [n, t] of Object.entries(THINGS)) {
        const body = { name: t.name, description: t.description };
        if (t.properties) body.properties = t.properties;
        if (t.locs.length) body.Locations = t.locs.map((l) => ({ '@iot.id': id[l] }));
        remember(n, await srv.create('Things', body));
    }
    for (const [n, body] of Object.entries(SENSORS)) remember(n, await srv.create('Sensors', body));
    for (const [n, body] of Object.entries(OPS)) remember(n, await srv.create('ObservedProperties', body));
    for (const [n, body] of Object.entries(FOIS)) remember(n, await srv.create('FeaturesOfInterest', body));
    for (const [n, d] of Object.entries(DATASTREAMS)) {
        const body = {
            name: d.name, description: d.description, unitOfMeasurement: d.uom, observationType: d.ot,
            Thing: { '@iot.id': id[d.thing] }, Sensor: { '@iot.id': id[d.sensor] }, ObservedProperty: { '@iot.id': id[d.op] },
        };
        if (d.properties) body.properties = d.properties;
        remember(n, await srv.create('Datastreams', body));
    }
    for (const [n, m] of Object.entries(MULTIDATASTREAMS)) {
        remember(n, await srv.create('MultiDatastreams', {
            name: m.name, description: m.description, observationType: OT.complex,
            multiObservationDataTypes: m.types, unitOfMeasurements: m.uoms,
            Thing: { '@iot.id': id[m.thing] }, Sensor: { '@iot.id': id[m.sensor] },
            ObservedProperties: m.ops.map((o) => ({ '@iot.id': id[o] })),
        }));
    }
    for (const o of OBSERVATIONS) {
        const body = { phenomenonTime: o.pt, result: o.result, FeatureOfInterest: { '@iot.id': id[o.foi] } };
        if (o.ds) body.Datastream = { '@iot.id': id[o.ds] };
        if (o.md) body.MultiDatastream = { '@iot.id': id[o.md] };
        if (o.rt) body.resultTime = o.rt;
        if (o.vt) body.validTime = o.vt;
        if (o.params) body.parameters = o.params;
        if (o.quality) body.resultQuality = o.quality;
        remember(o.n, await srv.create('Observations', body));
    }
    return { id, name };
}
