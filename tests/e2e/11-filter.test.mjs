// $filter (OGC 18-088 §9.3.3.5) end to end: a table of expressions over a
// fixture with known answers (lib/filter-fixture.mjs), bad input, and SQL
// injection attempts.
//
// Every expected answer below was computed by hand from the fixture; the
// facts each one rests on are in the comments of filter-fixture.mjs.
//
// Readings of the spec used here (where 18-088 is terse):
//  - Paths across a to-many relation have "any member" semantics
//    (Datastreams/Observations/result gt 300: some Observation matches).
//    For "<to-many>/id eq null" we follow FROST-Server's test suite
//    (FilterTests.testEqualsNull: Things "Datastreams/id eq null" are the
//    Things without Datastreams) - the outer-join reading.
//  - result is compared by its JSON type: numbers only with numbers,
//    strings only with strings, booleans only with booleans (issue 3:
//    "result compared by its type"), so `result eq 1` does not match
//    `true`, `result gt 100` no string or object, length() only strings.
//  - Times: intervals compare as the server documents it: a gt T <=>
//    start(a) > end(T); a ge T <=> start(a) >= end(T); a lt T <=>
//    end(a) < start(T); a le T <=> end(a) <= start(T); eq: same start and
//    end.  (FROST's DateTimeTests treat intervals as half-open, so for
//    "[00:00,01:00) lt 01:00" FROST says true and we say false; the rows
//    avoid relying on that boundary except where noted.)
//  - String positions are 0-based (OData 4.0 URL conventions §5.1.1.5:
//    indexof, substring), lengths count characters, not bytes.
//  - toupper/tolower work on all of Unicode (OData: "all uppercase
//    characters"), a German city has umlauts.
//  - div is a numeric division (JSON numbers have no integer type, FROST
//    evaluates in double precision): 10 div 4 = 2.5; mod is the IEEE
//    remainder: 95.5 mod 2 = 1.5.
//  - geo.distance / geo.length are planar, in the units of the
//    coordinates (degrees), as FROST's GeoTests expect.
//  - A Location whose location is not GeoJSON (encodingType text/plain)
//    has no geometry: no spatial predicate is true for it.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, assertError, countAll, ENTITY_SETS } from './lib/harness.mjs';
import { buildFixture, setOfName } from './lib/filter-fixture.mjs';

let s;
let fx; // {id: name -> id, name: set -> id -> name}

// 'O1-O5 O9' -> ['O1','O2','O3','O4','O5','O9']
function names(spec) {
    const out = [];
    for (const tok of spec.split(/\s+/).filter(Boolean)) {
        const m = /^([A-Z]+)(\d+)-([A-Z]+)(\d+)$/.exec(tok);
        if (m) {
            for (let i = Number(m[2]); i <= Number(m[4]); i++) out.push(`${m[1]}${i}`);
        } else {
            out.push(tok);
        }
    }
    return out;
}

// Replaces {T3} by the id of T3.
function subst(text) {
    return text.replace(/\{([A-Z]+\d+)\}/g, (_, n) => {
        if (!(n in fx.id)) throw new Error(`unknown fixture name ${n}`);
        return String(fx.id[n]);
    });
}

function setOfPath(p) {
    const last = p.split('/').pop();
    return last.replace(/\(.*$/, '');
}

function label(set, ids) {
    const m = fx.name[set] || {};
    return ids.map((i) => m[i] || `${set}(${i})`).join(' ');
}

async function filterIds(path, filter, extra = '') {
    const p = subst(path);
    const url = `${p}?$filter=${encodeURIComponent(subst(filter))}&$select=id&$top=1000${extra}`;
    const r = await s.get(url);
    return { r, url };
}

const BIG = "geography'POLYGON((7.45 51.34, 7.50 51.34, 7.50 51.38, 7.45 51.38, 7.45 51.34))'";
const LENNE = "geography'POLYGON((7.54 51.35, 7.56 51.35, 7.56 51.37, 7.54 51.37, 7.54 51.35))'";
const OT_URI = 'http://www.opengis.net/def/observationType/OGC-OM/2.0/';
const ALL_T = 'T1-T7';

// [path, filter, expected names ('' = none)]
const ROWS = [
    // ---------------------------------------------------------------- Things: comparison, logic, precedence
    ['Things', "name eq 'Klimastation Rathaus'", 'T4'],
    ['Things', "name ne 'Klimastation Rathaus'", 'T1 T2 T3 T5 T6 T7'],
    ['Things', "'Klimastation Rathaus' eq name", 'T4'],
    ['Things', 'id eq {T3}', 'T3'],
    ['Things', 'id gt {T5}', 'T6 T7'],
    ['Things', 'id ge {T5}', 'T5 T6 T7'],
    ['Things', 'id lt {T2}', 'T1'],
    ['Things', 'id le {T2}', 'T1 T2'],
    ['Things', 'id ne {T1}', 'T2-T7'],
    ['Things', '@iot.id eq {T2}', 'T2'],
    ['Things', "name eq 'Pegel Volme Eckesey' or name eq 'Regenmesser Eilpe'", 'T1 T6'],
    ['Things', "name eq 'Pegel Volme Eckesey' and name eq 'Regenmesser Eilpe'", ''],
    ['Things', "not (name eq 'Pegel Volme Eckesey')", 'T2-T7'],
    ['Things', "not name eq 'Pegel Volme Eckesey'", 'T2-T7'], // not binds looser than eq
    ['Things', 'id eq {T1} or id eq {T2} and id eq {T3}', 'T1'], // and before or
    ['Things', '(id eq {T1} or id eq {T2}) and id eq {T2}', 'T2'],
    ['Things', 'not id eq {T1} and not id eq {T2}', 'T3-T7'], // not before and
    ['Things', 'not (id eq {T1} or id eq {T2})', 'T3-T7'],
    ['Things', 'id eq {T1} or not (id le {T6})', 'T1 T7'],
    ['Things', 'not not id eq {T4}', 'T4'],
    ['Things', '((((id eq {T4}))))', 'T4'],
    ['Things', '( id  eq  {T4} )', 'T4'],
    ['Things', 'id sub id eq 0', ALL_T],
    ['Things', 'id add 1 gt id', ALL_T],
    ['Things', 'id div id eq 1', ALL_T],
    ['Things', 'id mul 0 ne 0', ''],
    ['Things', 'id mod id eq 0', ALL_T],
    ['Things', 'name lt \'B\'', 'T3'],
    ['Things', 'name ge \'R\'', 'T6'],
    ['Things', "name gt 'Pegel Lenne Hohenlimburg'", 'T1 T6'],
    ['Things', 'true', ALL_T],
    ['Things', 'false', ''],
    ['Things', 'true eq false', ''],
    ['Things', 'not false and true', ALL_T],
    ['Things', '1 eq 1', ALL_T],
    ['Things', '2 add 3 eq 5', ALL_T],
    ['Things', '2 add 3 mul 4 eq 14', ALL_T], // mul before add
    ['Things', '(2 add 3) mul 4 eq 20', ALL_T],
    ['Things', '10 sub 3 sub 2 eq 5', ALL_T], // left-associative
    ['Things', '-3 lt -2', ALL_T],
    ['Things', '- 3 add 5 eq 2', ALL_T],
    // ---------------------------------------------------------------- Things: JSON properties
    ['Things', "properties/owner/name eq 'WBH'", 'T1 T5'],
    ['Things', "properties/owner/name eq 'Stadt Hagen'", 'T4 T6'],
    ['Things', 'properties/owner/since ge 2019', 'T1'],
    ['Things', 'properties/owner/since lt 2019', 'T2'],
    ['Things', 'properties/owner/since eq null', 'T3-T7'],
    ['Things', 'properties/owner/since ne null', 'T1 T2'],
    ['Things', 'properties/depth gt 3', 'T2'],
    ['Things', 'properties/depth eq 2.5', 'T1'],
    ['Things', 'properties/depth le 4', 'T1 T2'],
    ['Things', 'properties/active eq true', 'T1 T2 T4 T5'],
    ['Things', 'properties/active eq false', 'T3'],
    ['Things', 'properties/active', 'T1 T2 T4 T5'],
    ['Things', 'not properties/active', 'T3'],
    ['Things', "properties/serial eq 'PV-001'", 'T1'],
    ['Things', "startswith(properties/serial, 'P')", 'T1 T2'],
    ['Things', "endswith(properties/serial, '-006')", 'T6'],
    ['Things', "properties/note eq 'it''s wet'", 'T5'],
    ['Things', 'properties/rank add 1 eq 3', 'T2'],
    ['Things', 'properties/rank mul 2 ge 6', 'T3 T4'],
    ['Things', 'properties/capacityLiters div 4 eq 30', 'T3'],
    ['Things', 'properties/height sub 0.5 eq 3', 'T4'],
    ['Things', 'properties/nonexistent eq null', ALL_T],
    ['Things', 'properties/nonexistent/deeper eq null', ALL_T],
    ['Things', 'properties eq null', 'T7'],
    ['Things', 'properties ne null', 'T1-T6'],
    ['Things', 'properties/tags eq null', 'T3-T7'],
    ['Things', 'properties/owner/name eq properties/serial', ''],
    ['Things', 'length(properties/owner/name) eq 3', 'T1 T3 T5'],
    ['Things', "tolower(properties/owner/name) eq 'ruhrverband'", 'T2'],
    // ---------------------------------------------------------------- Things: string functions
    ['Things', "substringof('Volme', name)", 'T1'],
    ['Things', "substringof('pe', name)", 'T6'], // case-sensitive: only "Eilpe"
    ['Things', "substringof('Pegel', description)", ''],
    ['Things', "substringof('pegel', description)", 'T1 T2'],
    ['Things', "not substringof('e', name)", 'T4'],
    ['Things', "substringof('', name)", ALL_T],
    ['Things', "startswith(name, 'Pegel')", 'T1 T2'],
    ['Things', "startswith(name, 'pegel')", ''],
    ['Things', "startswith(name, '')", ALL_T],
    ['Things', "endswith(name, 'Rathaus')", 'T4'],
    ['Things', "endswith(name, 'e')", 'T6 T7'],
    ['Things', "endswith(description, 'Volme')", 'T1'],
    ['Things', 'length(name) eq 19', 'T1'],
    ['Things', 'length(name) lt 18', 'T6 T7'],
    ['Things', 'length(name) eq 36', 'T3'], // "Abfallbehälter ..." is 36 characters (37 bytes)
    ['Things', 'length(description) gt 30', 'T3 T4'],
    ['Things', 'length(description) eq 30', 'T1 T2'],
    ['Things', "indexof(name, 'Rathaus') eq 13", 'T4'],
    ['Things', "indexof(name, 'Pegel') eq 0", 'T1 T2'],
    ['Things', "indexof(name, 'xyz') eq -1", ALL_T],
    ['Things', "indexof(name, 'Eilpe') eq 12", 'T6'],
    ['Things', "indexof(name, 'Friedrich') eq 15", 'T3'], // characters, not bytes
    ['Things', "substring(name, 6) eq 'Volme Eckesey'", 'T1'],
    ['Things', "substring(name, 6, 5) eq 'Lenne'", 'T2'],
    ['Things', "substring(name, 0, 5) eq 'Pegel'", 'T1 T2'],
    ['Things', "substring(name, 15, 9) eq 'Friedrich'", 'T3'],
    ['Things', "substring(name, 100) eq ''", ALL_T],
    ['Things', "tolower(name) eq 'klimastation rathaus'", 'T4'],
    ['Things', "toupper(name) eq 'REGENMESSER EILPE'", 'T6'],
    ['Things', "toupper(name) eq 'ABFALLBEHÄLTER FRIEDRICH-EBERT-PLATZ'", 'T3'],
    ['Things', "tolower(description) eq 'füllstandssensor im abfallbehälter'", 'T3'],
    ['Things', "tolower('ÄÖÜ') eq 'äöü'", ALL_T],
    ['Things', "trim(description) eq 'Bodenfeuchte im Volkspark'", 'T5'],
    ['Things', "description eq 'Bodenfeuchte im Volkspark'", ''],
    ['Things', 'length(trim(description)) eq 25', 'T5'],
    ['Things', "concat(concat(name, ' - '), description) eq 'Regenmesser Eilpe - Niederschlag in Eilpe'", 'T6'],
    ['Things', "concat(name, 'X') eq 'Parkhaus SpringeX'", 'T7'],
    ['Things', "concat('Pegel ', 'Volme Eckesey') eq name", 'T1'],
    ['Things', "startswith(concat(tolower(name), '!'), 'pegel')", 'T1 T2'],
    ['Things', 'length(concat(name, name)) eq 32', 'T7'],
    ['Things', "toupper(substring(name, 0, 1)) eq 'P' and length(name) gt 17", 'T1 T2'],
    // ---------------------------------------------------------------- Things: across relations ("any")
    ['Things', "Locations/name eq 'Rathaus'", 'T4'],
    ['Things', "Locations/name eq 'Volme-Abschnitt'", 'T1'],
    ['Things', "Locations/name eq 'Pegel Eckesey' and Locations/name eq 'Volme-Abschnitt'", 'T1'],
    ['Things', "Datastreams/name eq 'Wasserstand Lenne'", 'T2'],
    ['Things', "Datastreams/ObservedProperty/name eq 'Lufttemperatur'", 'T4'],
    ['Things', "Datastreams/ObservedProperty/name eq 'Wasserstand'", 'T1 T2'],
    ['Things', "MultiDatastreams/ObservedProperties/name eq 'Relative Luftfeuchte'", 'T4'],
    ['Things', 'Datastreams/Observations/result gt 300', 'T2'],
    ['Things', "Datastreams/Observations/result eq 'ok'", 'T4'],
    ['Things', 'Datastreams/Observations/result eq false', 'T5 T6'],
    ['Things', "Datastreams/Observations/parameters/gateway eq 'gw-lenne'", 'T2'],
    ['Things', 'not (Datastreams/Observations/result gt 300)', 'T1 T3 T4 T5 T6 T7'],
    ['Things', 'Datastreams/id eq null', 'T7'], // FROST FilterTests.testEqualsNull
    ['Things', 'Datastreams/id ne null', 'T1-T6'],
    ['Things', "HistoricalLocations/Locations/name eq 'Volkspark'", 'T5'],
    ['Things', "Datastreams/Sensor/name eq 'Klimasensor'", 'T4 T5'],
    ['Things', "Datastreams/unitOfMeasurement/symbol eq 'cm'", 'T1 T2'],
    ['Things', "Datastreams/properties/river eq 'Lenne' or Locations/name eq 'Rathaus'", 'T2 T4'],
    ['Things', "Datastreams/Observations/FeatureOfInterest/name eq 'Eilpe'", 'T6'],
    ['Things', `st_within(Locations/location, ${BIG})`, 'T1 T3 T4 T5'],
    ['Things', "geo.intersects(Locations/location, geography'LINESTRING(7.45 51.35, 7.45 51.45)')", 'T1'],
    ['Things', "geo.distance(Locations/location, geography'POINT(7.55 51.36)') lt 0.001", 'T2'],
    // ---------------------------------------------------------------- Locations: geospatial
    ['Locations', `st_within(location, ${BIG})`, 'L1 L3 L4 L5'],
    ['Locations', `st_within(location, geography'SRID=4326;POLYGON((7.45 51.34, 7.50 51.34, 7.50 51.38, 7.45 51.38, 7.45 51.34))')`, 'L1 L3 L4 L5'],
    ['Locations', `st_contains(${BIG}, location)`, 'L1 L3 L4 L5'],
    ['Locations', "st_intersects(location, geography'POINT(7.47 51.355)')", 'L5'],
    ['Locations', "st_contains(location, geography'POINT(7.474 51.359)')", 'L4 L5'],
    ['Locations', "st_equals(location, geography'POINT(7.55 51.36)')", 'L2'],
    ['Locations', `st_disjoint(location, ${BIG})`, 'L2 L7'],
    ['Locations', `not st_disjoint(location, ${BIG})`, 'L1 L3 L4 L5'],
    ['Locations', "st_touches(location, geography'POINT(7.47 51.36)')", 'L5'],
    ['Locations', "st_overlaps(location, geography'POLYGON((7.47 51.355, 7.49 51.355, 7.49 51.365, 7.47 51.365, 7.47 51.355))')", 'L5'],
    ['Locations', "st_crosses(location, geography'LINESTRING(7.45 51.35, 7.45 51.45)')", 'L7'],
    ['Locations', `st_relate(location, ${BIG}, 'T********')`, 'L1 L3 L4 L5'],
    ['Locations', "st_relate(location, geography'POINT(7.55 51.36)', 'T*F**FFF*')", 'L2'],
    ['Locations', "geo.intersects(location, geography'LINESTRING(7.46 51.30, 7.46 51.45)')", 'L1 L5 L7'],
    ['Locations', "geo.distance(location, geography'POINT(7.474 51.359)') lt 0.01", 'L3 L4 L5'],
    ['Locations', "geo.distance(location, geography'POINT(7.474 51.359)') gt 0.05", 'L2'],
    ['Locations', "geo.distance(location, geography'POINT(7.46 51.37)') eq 0", 'L1'],
    ['Locations', 'geo.length(location) gt 0.1', 'L7'],
    ['Locations', 'geo.length(location) gt 0.14 and geo.length(location) lt 0.16', 'L7'],
    ['Locations', "st_intersects(location, geography'MULTIPOINT((7.46 51.37),(7.55 51.36))')", 'L1 L2'],
    ['Locations', "st_intersects(location, geography'MULTIPOINT(7.46 51.37, 7.55 51.36)')", 'L1 L2'],
    ['Locations', "st_within(location, geography'MULTIPOLYGON(((7.45 51.36, 7.465 51.36, 7.465 51.375, 7.45 51.375, 7.45 51.36)),((7.54 51.35, 7.56 51.35, 7.56 51.37, 7.54 51.37, 7.54 51.35)))')", 'L1 L2'],
    ['Locations', "geo.intersects(location, geography'MULTILINESTRING((7.40 51.40, 7.41 51.41),(7.55 51.30, 7.55 51.40))')", 'L2 L7'],
    ['Locations', `st_within(location, ${LENNE}) or name eq 'Rathaus'`, 'L2 L4'],
    ['Locations', "Things/name eq 'Pegel Volme Eckesey'", 'L1 L7'],
    ['Locations', "encodingType eq 'text/plain'", 'L6'],
    ['Locations', "st_equals(location, geometry'POINT(7.55 51.36)')", 'L2'],
    // ---------------------------------------------------------------- FeaturesOfInterest
    ['FeaturesOfInterest', `st_within(feature, ${BIG})`, 'F1 F3'], // F4 lies on the boundary
    ['FeaturesOfInterest', "st_contains(feature, geography'POINT(7.47 51.36)')", 'F3'],
    ['FeaturesOfInterest', "st_intersects(feature, geography'POINT(7.49 51.34)')", 'F4'],
    ['FeaturesOfInterest', "geo.distance(feature, geography'POINT(7.55 51.36)') lt 0.001", 'F2'],
    ['FeaturesOfInterest', "name eq 'Innenstadt' and st_intersects(feature, geography'LINESTRING(7.40 51.36, 7.50 51.36)')", 'F3'],
    ['FeaturesOfInterest', "Observations/Datastream/Thing/name eq 'Regenmesser Eilpe'", 'F4'],
    ['FeaturesOfInterest', "Observations/result eq 'ok'", 'F3'],
    ['FeaturesOfInterest', "Observations/MultiDatastream/name eq 'Wetter Rathaus'", 'F3'],
    // ---------------------------------------------------------------- Datastreams
    ['Datastreams', "unitOfMeasurement/symbol eq 'cm'", 'D1 D2'],
    ['Datastreams', "unitOfMeasurement/name eq 'Prozent'", 'D3 D6'],
    ['Datastreams', `observationType eq '${OT_URI}OM_CategoryObservation'`, 'D5'],
    ['Datastreams', "endswith(observationType, 'OM_Measurement')", 'D1 D2 D3 D4'],
    ['Datastreams', 'properties/threshold gt 200', 'D2'],
    ['Datastreams', "properties/river eq 'Volme'", 'D1'],
    ['Datastreams', "Thing/name eq 'Klimastation Rathaus'", 'D4 D5'],
    ['Datastreams', "Thing/properties/owner/name eq 'WBH'", 'D1 D6'],
    ['Datastreams', "ObservedProperty/name eq 'Wasserstand'", 'D1 D2'],
    ['Datastreams', "Sensor/name eq 'Klimasensor' and ObservedProperty/name ne 'Status'", 'D4 D6'],
    ['Datastreams', 'Observations/result gt 300', 'D2'],
    ['Datastreams', "Observations/parameters/gateway eq 'gw-eilpe'", 'D1 D7'],
    ['Datastreams', `st_within(Thing/Locations/location, ${BIG})`, 'D1 D3 D4 D5 D6'],
    ['Datastreams', 'phenomenonTime gt 2026-03-02T00:00:00Z', 'D6'],
    ['Datastreams', 'phenomenonTime lt 2026-03-04T00:00:00Z', 'D1 D2 D3 D5 D6 D7'],
    ['Datastreams', 'phenomenonTime lt 2026-03-01T03:00:00Z', 'D7'],
    ['Datastreams', 'phenomenonTime ge 2026-03-01T00:00:00Z', 'D1 D3 D5 D6 D7'],
    ['Datastreams', 'resultTime eq null', 'D2 D3 D5 D6'],
    ['Datastreams', 'resultTime ne null', 'D1 D4 D7'],
    ['Datastreams', 'Observations/phenomenonTime gt 2026-07-01T00:00:00Z', 'D4'],
    ['Datastreams', 'Observations/resultTime gt 2026-03-01T04:00:00Z', 'D1 D4'],
    // ---------------------------------------------------------------- MultiDatastreams, ObservedProperties, Sensors, HistoricalLocations
    ['MultiDatastreams', "ObservedProperties/name eq 'Relative Luftfeuchte'", 'MD1'],
    ['MultiDatastreams', "Thing/name eq 'Pegel Volme Eckesey'", ''],
    ['MultiDatastreams', 'Observations/result eq null', ''],
    ['MultiDatastreams', "Sensor/name eq 'Klimasensor'", 'MD1'],
    ['ObservedProperties', "Datastreams/Thing/name eq 'Klimastation Rathaus'", 'OP3 OP7'],
    ['ObservedProperties', "MultiDatastreams/Thing/name eq 'Klimastation Rathaus'", 'OP3 OP4'],
    ['ObservedProperties', "Datastreams/Thing/Datastreams/ObservedProperty/name eq 'Status'", 'OP3 OP7'],
    ['ObservedProperties', 'Datastreams/id eq null', 'OP4'], // only used by MD1
    ['ObservedProperties', "startswith(definition, 'http://dbpedia.org')", 'OP1 OP3 OP4 OP6'],
    ['ObservedProperties', "name eq 'Füllstand'", 'OP2'],
    ['Sensors', "Datastreams/ObservedProperty/name eq 'Niederschlag'", 'S4'],
    ['Sensors', "MultiDatastreams/name eq 'Wetter Rathaus'", 'S3'],
    ['Sensors', "substringof('Füll', name)", 'S2'],
    ['HistoricalLocations', "Thing/name eq 'Bodenfeuchte Volkspark'", 'H5'],
    ['HistoricalLocations', "Locations/name eq 'Volme-Abschnitt'", 'H1'],
    ['HistoricalLocations', 'time gt 2000-01-01T00:00:00Z', 'H1-H6'],
    ['HistoricalLocations', 'time gt now()', ''],
    // ---------------------------------------------------------------- Observations: result by type
    ['Observations', 'result gt 100', 'O1-O8'],
    ['Observations', 'result lt 1', 'O9 O14 O16 O20 O33'],
    ['Observations', 'result lt -1', 'O9 O16 O20'],
    ['Observations', 'result eq -5', 'O9'],
    ['Observations', 'result eq -7.5', 'O20'],
    ['Observations', 'result eq 1', 'O30'],
    ['Observations', 'result eq 0', 'O14 O33'],
    ['Observations', 'result eq true', 'O29 O35 O37'],
    ['Observations', 'result eq false', 'O34 O36'],
    ['Observations', "result eq 'ok'", 'O21'],
    ['Observations', "result eq 'OK'", 'O23'],
    // A string literal compares the result as text, numbers included (the OGC and
    // FROST conformance tests: "result gt '3'" over 1..12 matches 4..9).
    ['Observations', "result eq '10'", 'O10 O24'],
    ['Observations', 'result eq 10', 'O10'],
    ['Observations', "result ge 'w'", 'O22'],
    ['Observations', "result eq 'Müller''s Straße'", 'O26'],
    ['Observations', "tolower(result) eq 'ok'", 'O21 O23'],
    ['Observations', "trim(result) eq 'padded'", 'O25'],
    ['Observations', 'length(result) eq 2', 'O21 O23 O24'],
    ['Observations', "startswith(result, 'warn')", 'O22'],
    ['Observations', 'result eq null', 'O31'],
    ['Observations', 'result ne null', 'O1-O30 O32-O40'],
    ['Observations', 'result/moisture gt 40', 'O28'],
    ['Observations', "result/status eq 'dry'", 'O27'],
    ['Observations', 'result/temp add result/moisture gt 50', 'O28'],
    ['Observations', 'result gt 5 and result lt 10', 'O17 O18'],
    ['Observations', 'result gt -2 and result lt 0', 'O16'],
    ['Observations', 'result add 10 gt 90', 'O1-O8 O12 O13'],
    ['Observations', 'result mul -1 gt 4', 'O9 O20'],
    ['Observations', '-(result) gt 4', 'O9 O20'],
    ['Observations', '-result gt 4', 'O9 O20'],
    // ---------------------------------------------------------------- Observations: parameters, relations, geometry of the FoI
    ['Observations', 'parameters/rssi lt -90', 'O2 O3 O35'],
    ['Observations', 'parameters/rssi eq -87', 'O1 O5'],
    ['Observations', "parameters/gateway eq 'gw-eilpe'", 'O1 O3 O35 O36'],
    ['Observations', 'parameters/sf ge 9', 'O2 O3'],
    ['Observations', 'parameters eq null', 'O4 O6 O7 O9-O34 O37-O40'],
    ['Observations', "parameters/rssi gt -100 and parameters/gateway eq 'gw-eilpe'", 'O1 O36'],
    ['Observations', "parameters/rssi gt -100 or parameters/gateway eq 'gw-eilpe'", 'O1 O2 O3 O5 O8 O35 O36'],
    ['Observations', "Datastream/ObservedProperty/name eq 'Wasserstand'", 'O1-O9'],
    ['Observations', "Datastream/Thing/properties/owner/name eq 'WBH'", 'O1-O5 O27-O34'],
    ['Observations', "MultiDatastream/name eq 'Wetter Rathaus'", 'O38 O39 O40'],
    ['Observations', 'Datastream/id eq null', 'O38 O39 O40'],
    ['Observations', 'MultiDatastream/id ne null', 'O38 O39 O40'],
    ['Observations', "FeatureOfInterest/name eq 'Innenstadt'", 'O10-O34 O38-O40'],
    ['Observations', "FeatureOfInterest/name eq 'Eilpe' and result eq true", 'O35 O37'],
    ['Observations', `st_within(FeatureOfInterest/feature, ${LENNE})`, 'O6-O9'],
    ['Observations', "geo.distance(FeatureOfInterest/feature, geography'POINT(7.46 51.37)') lt 0.001", 'O1-O5'],
    ['Observations', "st_contains(FeatureOfInterest/feature, geography'POINT(7.47 51.36)')", 'O10-O34 O38-O40'],
    ['Observations', "Datastream/Thing/Locations/name eq 'Rathaus'", 'O15-O26'],
    ['Observations', `st_within(Datastream/Thing/Locations/location, ${LENNE})`, 'O6-O9'],
    ['Observations', "Datastream/unitOfMeasurement/symbol eq '%'", 'O10-O14 O27-O34'],
    ['Observations', `Datastream/observationType eq '${OT_URI}OM_TruthObservation'`, 'O35 O36 O37'],
    ['Observations', "resultQuality/flag eq 'good'", 'O40'],
    ['Observations', 'validTime eq null', 'O1-O16 O18-O39'],
    ['Observations', 'validTime gt 2026-03-01T11:00:00Z', 'O40'],
    ['Observations', 'validTime lt 2026-03-01T15:00:00Z', 'O17'],
    ['Observations', 'fractionalseconds(resultTime) eq 0.5', 'O35'],
    ['Observations', 'year(resultTime) eq 2026 and month(resultTime) eq 7', 'O19'],
    ['Observations', 'date(resultTime) eq 2026-01-01', 'O20'],
    // ---------------------------------------------------------------- date and time functions (D1: instants)
    ['Datastreams({D1})/Observations', 'year(phenomenonTime) eq 2026', 'O1-O5'],
    ['Datastreams({D1})/Observations', 'month(phenomenonTime) eq 3', 'O1-O5'],
    ['Datastreams({D1})/Observations', 'day(phenomenonTime) eq 1', 'O1-O5'],
    ['Datastreams({D1})/Observations', 'hour(phenomenonTime) eq 4', 'O5'],
    ['Datastreams({D1})/Observations', 'hour(phenomenonTime) lt 2', 'O1 O2'],
    ['Datastreams({D1})/Observations', 'minute(phenomenonTime) eq 30', 'O5'],
    ['Datastreams({D1})/Observations', 'second(phenomenonTime) eq 15', 'O5'],
    ['Datastreams({D1})/Observations', 'fractionalseconds(phenomenonTime) eq 0.25', 'O5'],
    ['Datastreams({D1})/Observations', 'fractionalseconds(phenomenonTime) eq 0', 'O1-O4'],
    ['Datastreams({D1})/Observations', 'date(phenomenonTime) eq 2026-03-01', 'O1-O5'],
    ['Datastreams({D1})/Observations', 'time(phenomenonTime) eq 04:30:15.25', 'O5'],
    ['Datastreams({D1})/Observations', 'time(phenomenonTime) eq 01:00:00', 'O2'],
    ['Datastreams({D1})/Observations', 'time(phenomenonTime) lt 02:00:00', 'O1 O2'],
    ['Datastreams({D1})/Observations', 'time(phenomenonTime) ge 03:00', 'O4 O5'],
    ['Datastreams({D1})/Observations', 'totaloffsetminutes(phenomenonTime) eq 0', 'O1-O5'],
    // now(): the fixture lies in 2026; these hold for any clock after 2016-03-02.
    ['Datastreams({D1})/Observations', "phenomenonTime sub duration'P3650D' lt now()", 'O1-O5'],
    ['Datastreams({D1})/Observations', "phenomenonTime gt now() add duration'P3650D'", ''],
    ['Datastreams({D1})/Observations', "now() sub phenomenonTime gt duration'-P3650D'", 'O1-O5'],
    ['Datastreams({D1})/Observations', 'phenomenonTime gt mindatetime()', 'O1-O5'],
    ['Datastreams({D1})/Observations', 'phenomenonTime lt maxdatetime()', 'O1-O5'],
    ['Datastreams({D1})/Observations', 'phenomenonTime gt maxdatetime()', ''],
    ['Datastreams({D1})/Observations', 'resultTime gt 2026-03-01T01:00:00Z', 'O2 O4 O5'],
    ['Datastreams({D1})/Observations', 'resultTime eq null', 'O3'],
    ['Datastreams({D1})/Observations', 'second(resultTime) eq 5', 'O1 O2 O4'],
    ['Datastreams({D1})/Observations', 'year(resultTime) eq 2026', 'O1 O2 O4 O5'],
    ['Datastreams({D1})/Observations', 'phenomenonTime ge 2026-03-01T02:00:00Z and phenomenonTime le 2026-03-01T03:00:00Z', 'O3 O4'],
    ['Datastreams({D1})/Observations', 'phenomenonTime eq 2026-03-01T01:00:00Z', 'O2'],
    ['Datastreams({D1})/Observations', 'phenomenonTime eq 2026-03-01T02:00:00+01:00', 'O2'],
    ['Datastreams({D1})/Observations', 'phenomenonTime eq 2026-03-01T01:00:00.000Z', 'O2'],
    ['Datastreams({D1})/Observations', 'phenomenonTime gt 2026-03-01T03:00:00.000+00:00', 'O5'],
    ['Datastreams({D1})/Observations', "phenomenonTime gt 2026-03-01T02:00:00Z sub duration'PT30M'", 'O3 O4 O5'],
    ['Datastreams({D1})/Observations', "phenomenonTime add duration'PT1H' eq 2026-03-01T02:00:00Z", 'O2'],
    ['Datastreams({D1})/Observations', 'phenomenonTime lt 2026-03-01', ''],
    ['Datastreams({D1})/Observations', 'phenomenonTime ge 2026-03-01', 'O1-O5'],
    ['Datastreams({D1})/Observations', "resultTime sub phenomenonTime eq duration'PT5S'", 'O1 O2 O4'],
    ['Datastreams({D1})/Observations', "resultTime sub phenomenonTime gt duration'PT4S'", 'O1 O2 O4 O5'],
    ['Datastreams({D4})/Observations', 'hour(phenomenonTime) eq 12 and minute(phenomenonTime) eq 30', 'O19'], // 14:30+02:00
    // ---------------------------------------------------------------- interval-valued phenomenonTime (D4)
    ['Datastreams({D4})/Observations', 'phenomenonTime gt 2026-03-01T00:30:00Z', 'O16 O17 O18 O19'],
    ['Datastreams({D4})/Observations', 'phenomenonTime lt 2026-03-01T00:30:00Z', 'O20'],
    ['Datastreams({D4})/Observations', 'phenomenonTime lt 2026-03-01T01:00:00Z', 'O20'], // FROST (half-open): also O15
    ['Datastreams({D4})/Observations', 'phenomenonTime le 2026-03-01T01:00:00Z', 'O15 O20'],
    ['Datastreams({D4})/Observations', 'phenomenonTime ge 2026-03-01T01:00:00Z', 'O16 O17 O18 O19'],
    ['Datastreams({D4})/Observations', 'phenomenonTime gt 2026-03-01T01:00:00Z', 'O17 O18 O19'],
    ['Datastreams({D4})/Observations', 'phenomenonTime eq 2026-03-01T00:00:00Z/2026-03-01T01:00:00Z', 'O15'],
    ['Datastreams({D4})/Observations', 'phenomenonTime eq 2026-03-01T00:00:00Z/PT1H', 'O15'],
    ['Datastreams({D4})/Observations', 'phenomenonTime eq 2026-03-01T11:00:00Z', 'O18'],
    ['Datastreams({D4})/Observations', 'phenomenonTime eq 2026-03-01T00:00:00Z', ''],
    ['Datastreams({D4})/Observations', 'phenomenonTime ne 2026-03-01T00:00:00Z/2026-03-01T01:00:00Z', 'O16-O20'],
    ['Datastreams({D4})/Observations', 'phenomenonTime gt 2026-03-01T00:00:00Z/2026-03-01T02:00:00Z', 'O17 O18 O19'],
    ['Datastreams({D4})/Observations', 'phenomenonTime lt 2026-03-01T10:00:00Z/2026-03-01T12:00:00Z', 'O15 O16 O20'],
    ['Datastreams({D4})/Observations', 'phenomenonTime lt 2026-03-01T11:30:00Z/2026-03-01T12:00:00Z', 'O15 O16 O18 O20'],
    ['Datastreams({D4})/Observations', 'phenomenonTime ge 2026-03-01T10:00:00Z/2026-03-01T11:00:00Z', 'O18 O19'],
    ['Datastreams({D4})/Observations', '2026-03-01T00:30:00Z lt phenomenonTime', 'O16 O17 O18 O19'],
    ['Datastreams({D4})/Observations', '2026-03-01T01:30:00Z gt phenomenonTime', 'O15 O20'],
    ['Datastreams({D4})/Observations', 'phenomenonTime gt 2026-03-01T01:00:00Z and phenomenonTime lt 2026-03-01T12:30:00Z', 'O17 O18'],
    ['MultiDatastreams({MD1})/Observations', 'phenomenonTime ge 2026-03-01T12:00:00Z', 'O39 O40'],
    ['MultiDatastreams({MD1})/Observations', 'phenomenonTime eq 2026-03-01T12:00:00Z', 'O39'],
    // ---------------------------------------------------------------- arithmetic (D3: 10 55 85 95.5 0)
    ['Datastreams({D3})/Observations', 'result gt 50', 'O11 O12 O13'],
    ['Datastreams({D3})/Observations', 'result ge 55', 'O11 O12 O13'],
    ['Datastreams({D3})/Observations', 'result lt 55', 'O10 O14'],
    ['Datastreams({D3})/Observations', 'result le 55', 'O10 O11 O14'],
    ['Datastreams({D3})/Observations', 'result eq 85', 'O12'],
    ['Datastreams({D3})/Observations', 'result ne 85', 'O10 O11 O13 O14'],
    ['Datastreams({D3})/Observations', 'result gt 20 and result lt 90', 'O11 O12'],
    ['Datastreams({D3})/Observations', 'result lt 20 or result gt 90', 'O10 O13 O14'],
    ['Datastreams({D3})/Observations', 'not (result gt 50)', 'O10 O14'],
    ['Datastreams({D3})/Observations', 'not result gt 50', 'O10 O14'],
    ['Datastreams({D3})/Observations', 'result gt 5 or result lt 1 and result gt 90', 'O10 O11 O12 O13'],
    ['Datastreams({D3})/Observations', '(result gt 5 or result lt 1) and result lt 90', 'O10 O11 O12 O14'],
    ['Datastreams({D3})/Observations', 'result add 10 gt 90', 'O12 O13'],
    ['Datastreams({D3})/Observations', 'result sub 5 eq 50', 'O11'],
    ['Datastreams({D3})/Observations', 'result mul 2 eq 170', 'O12'],
    ['Datastreams({D3})/Observations', 'result div 2 eq 5', 'O10'],
    ['Datastreams({D3})/Observations', 'result div 4 eq 2.5', 'O10'],
    ['Datastreams({D3})/Observations', 'result div 2 eq 27.5', 'O11'],
    ['Datastreams({D3})/Observations', 'result mod 2 eq 1', 'O11 O12'],
    ['Datastreams({D3})/Observations', 'result mod 2 eq 1.5', 'O13'],
    ['Datastreams({D3})/Observations', 'result add 2 mul 3 eq 61', 'O11'],
    ['Datastreams({D3})/Observations', '(result add 2) mul 3 eq 171', 'O11'],
    ['Datastreams({D3})/Observations', 'result sub 10 sub 5 eq 40', 'O11'],
    ['Datastreams({D3})/Observations', 'result div 5 div 2 eq 1', 'O10'],
    ['Datastreams({D3})/Observations', '100 sub result eq 15', 'O12'],
    ['Datastreams({D3})/Observations', 'result add 0.5 eq 96', 'O13'],
    ['Datastreams({D3})/Observations', 'result eq 95.5', 'O13'],
    ['Datastreams({D3})/Observations', 'result gt 95 and result lt 96', 'O13'],
    ['Datastreams({D3})/Observations', 'round(result) eq 96', 'O13'],
    ['Datastreams({D3})/Observations', 'floor(result) eq 95', 'O13'],
    ['Datastreams({D3})/Observations', 'ceiling(result) eq 96', 'O13'],
    ['Datastreams({D3})/Observations', 'round(result div 10) eq 6', 'O11'],
    ['Datastreams({D3})/Observations', 'result eq -0', 'O14'],
    ['Datastreams({D3})/Observations', 'result gt -9223372036854775808', 'O10-O14'],
    ['Datastreams({D3})/Observations', 'result lt 1e300', 'O10-O14'],
    ['Datastreams({D3})/Observations', 'result eq 9.55E1', 'O13'],
    // ---------------------------------------------------------------- literals, blanks, more times
    ['Things', 'properties/depth eq 25e-1', 'T1'],
    ['Things', 'properties/depth eq 2.50', 'T1'],
    ['Things', 'properties/depth eq 0.25E1', 'T1'],
    ['Things', "name eq ''''", ''],
    ['Things', "name eq 'klimastation rathaus'", ''],
    ['Things', "substringof('ä', name)", 'T3'],
    ['Things', "substringof('ü', description)", 'T3'],
    ['Locations', "name\teq\n'Rathaus'", 'L4'],
    ['Locations', "\r\n name eq 'Rathaus' \t", 'L4'],
    ['Observations', 'time(resultTime) eq 00:00:01.5', 'O35'],
    ['Observations', 'time(resultTime) eq 00:00:01.500000', 'O35'],
    ['Datastreams', 'resultTime gt 2026-03-01T00:00:03Z', 'D1'],
    ['Datastreams({D1})/Observations', "phenomenonTime sub duration'P1D' lt 2026-03-01T00:00:00Z", 'O1-O5'],
    ['Datastreams({D1})/Observations', "phenomenonTime add duration'-PT1H' eq 2026-03-01T00:00:00Z", 'O2'],
    ['Datastreams({D1})/Observations', "phenomenonTime sub duration'-PT1H' eq 2026-03-01T02:00:00Z", 'O2'],
    ['Datastreams({D1})/Observations', "phenomenonTime add duration'PT30M15.25S' eq 2026-03-01T05:00:30.5Z", 'O5'],
    // ---------------------------------------------------------------- round / floor / ceiling (D4: 3.5 -1.5 8.25 7 28.5 -7.5)
    ['Datastreams({D4})/Observations', 'round(result) eq 4', 'O15'],
    ['Datastreams({D4})/Observations', 'round(result) eq -2', 'O16'], // midpoint away from zero
    ['Datastreams({D4})/Observations', 'round(result) eq 29', 'O19'],
    ['Datastreams({D4})/Observations', 'round(result) eq 8', 'O17'],
    ['Datastreams({D4})/Observations', 'round(result) eq -8', 'O20'],
    ['Datastreams({D4})/Observations', 'floor(result) eq -2', 'O16'],
    ['Datastreams({D4})/Observations', 'floor(result) eq 8', 'O17'],
    ['Datastreams({D4})/Observations', 'floor(result) eq -8', 'O20'],
    ['Datastreams({D4})/Observations', 'ceiling(result) eq -1', 'O16'],
    ['Datastreams({D4})/Observations', 'ceiling(result) eq 9', 'O17'],
    ['Datastreams({D4})/Observations', 'ceiling(result) eq 7', 'O18'],
    ['Datastreams({D4})/Observations', 'floor(result) eq ceiling(result)', 'O18'],
];

before(async () => {
    s = await startServer();
    fx = await buildFixture(s);
    // The HistoricalLocation each Thing with Locations got when it was created.
    for (let i = 1; i <= 6; i++) {
        const hl = await s.getJson(`Things(${fx.id[`T${i}`]})/HistoricalLocations`);
        assert.equal(hl.value.length, 1, `T${i} has one HistoricalLocation`);
        const hid = hl.value[0]['@iot.id'];
        fx.id[`H${i}`] = hid;
        (fx.name.HistoricalLocations = fx.name.HistoricalLocations || {})[hid] = `H${i}`;
    }
});

after(async () => { if (s) assert.equal(await s.stop(), 0); });

test('the fixture is as built (counts)', async () => {
    assert.deepEqual(await countAll(s), {
        Things: 7, Locations: 7, HistoricalLocations: 6, Datastreams: 7, MultiDatastreams: 1,
        Sensors: 4, ObservedProperties: 7, Observations: 40, FeaturesOfInterest: 4,
    });
});

test(`the table has at least 200 rows (${ROWS.length})`, () => {
    assert.ok(ROWS.length >= 200, `${ROWS.length} rows`);
});

for (const [path, filter, expected] of ROWS) {
    test(`${path}?$filter=${filter}`, async () => {
        const set = setOfPath(path);
        const want = names(expected).map((n) => {
            assert.equal(setOfName(n), set, `row names ${n} but queries ${set}`);
            return fx.id[n];
        }).sort((a, b) => a - b);
        const { r, url } = await filterIds(path, filter);
        assert.equal(r.status, 200, `GET ${url} -> ${r.status} ${r.text}`);
        const got = r.json.value.map((e) => e['@iot.id']).sort((a, b) => a - b);
        assert.equal(r.json['@iot.nextLink'], undefined, 'no second page with $top=1000');
        assert.deepEqual(label(set, got), label(set, want), `$filter=${subst(filter)} on ${subst(path)}`);
        for (const e of r.json.value) assert.deepEqual(Object.keys(e), ['@iot.id'], '$select=id');
    });
}

// ------------------------------------------------------------------ $count, $orderby, $expand with $filter

test('$count with $filter counts the matches, ignores $top, and nextLink keeps the filter', async () => {
    const f = encodeURIComponent('result gt 100');
    const r = await s.get(`Observations?$filter=${f}&$count=true&$top=3&$select=id`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json['@iot.count'], 8);
    assert.equal(r.json.value.length, 3);
    assert.ok(r.json['@iot.nextLink'], 'nextLink');
    const all = await s.all(`Observations?$filter=${f}&$top=3&$select=id`);
    assert.deepEqual(label('Observations', all.map((e) => e['@iot.id']).sort((a, b) => a - b)), names('O1-O8').join(' '));
    const r2 = await s.get(`Things?$filter=${encodeURIComponent("properties/owner/name eq 'WBH'")}&$count=true`);
    assert.equal(r2.json['@iot.count'], 2);
    const r3 = await s.get(`Datastreams(${fx.id.D3})/Observations?$filter=${encodeURIComponent('result gt 50')}&$count=true&$top=1`);
    assert.equal(r3.json['@iot.count'], 3);
    assert.equal(r3.json.value.length, 1);
    const r4 = await s.get(`Things?$filter=${encodeURIComponent('false')}&$count=true`);
    assert.equal(r4.json['@iot.count'], 0);
    assert.deepEqual(r4.json.value, []);
});

test('$orderby on a JSON path together with $filter (issue 3: "$orderby on the same paths")', async () => {
    const r = await s.get(`Observations?$filter=${encodeURIComponent("parameters/gateway eq 'gw-eilpe'")}&$orderby=${encodeURIComponent('parameters/rssi asc')}&$select=id`);
    assert.equal(r.status, 200, r.text);
    assert.equal(label('Observations', r.json.value.map((e) => e['@iot.id'])), 'O35 O3 O1 O36');
});

test('$orderby on result together with $filter across a relation', async () => {
    const r = await s.get(`Observations?$filter=${encodeURIComponent(`Datastream/id eq ${fx.id.D3}`)}&$orderby=${encodeURIComponent('result desc')}&$select=id`);
    assert.equal(r.status, 200, r.text);
    assert.equal(label('Observations', r.json.value.map((e) => e['@iot.id'])), 'O13 O12 O11 O10 O14');
});

function expandUrl(base, filter, expand) {
    return `${base}?$filter=${encodeURIComponent(subst(filter))}&$select=id&$expand=${encodeURIComponent(subst(expand))}`;
}

const sortedIds = (arr) => arr.map((e) => e['@iot.id']).sort((a, b) => a - b);

test('$filter inside $expand: Datastreams(D3)/Observations with result gt 50', async () => {
    const r = await s.get(expandUrl('Datastreams', 'id eq {D3}', 'Observations($filter=result gt 50;$select=id)'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.value.length, 1);
    assert.equal(label('Observations', sortedIds(r.json.value[0].Observations)), 'O11 O12 O13');
});

test('$filter inside $expand: a path across relations, per parent', async () => {
    const r = await s.get(expandUrl('Things', 'true', 'Datastreams($filter=Observations/result gt 300;$select=id)'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.value.length, 7);
    for (const t of r.json.value) {
        const want = t['@iot.id'] === fx.id.T2 ? [fx.id.D2] : [];
        assert.deepEqual(t.Datastreams.map((d) => d['@iot.id']), want, `Things(${t['@iot.id']})/Datastreams`);
    }
});

test('$filter inside $expand: a function call with a comma inside the options', async () => {
    const r = await s.get(expandUrl('Things', 'id eq {T4}', "Datastreams($filter=endswith(observationType, 'Measurement');$select=id)"));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.value[0].Datastreams.map((d) => d['@iot.id']), [fx.id.D4]);
});

test('$filter inside a nested $expand', async () => {
    const r = await s.get(expandUrl('Things', 'id eq {T4}',
        "Datastreams($filter=name eq 'Status Klimastation';$select=id;$expand=Observations($filter=result eq 'OK';$select=id))"));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.value[0].Datastreams.length, 1);
    assert.equal(r.json.value[0].Datastreams[0]['@iot.id'], fx.id.D5);
    assert.deepEqual(r.json.value[0].Datastreams[0].Observations.map((o) => o['@iot.id']), [fx.id.O23]);
});

test('$filter inside $expand on interval times (MultiDatastream Observations)', async () => {
    const r = await s.get(expandUrl('MultiDatastreams', 'true', 'Observations($filter=phenomenonTime ge 2026-03-01T12:00:00Z;$select=id)'));
    assert.equal(r.status, 200, r.text);
    assert.equal(label('Observations', sortedIds(r.json.value[0].Observations)), 'O39 O40');
});

test('geospatial $filter on the parent, another $filter in the $expand', async () => {
    const r = await s.get(expandUrl('Locations', `st_within(location, ${BIG})`, "Things($filter=Datastreams/name eq 'Status Klimastation';$select=id)"));
    assert.equal(r.status, 200, r.text);
    assert.equal(label('Locations', sortedIds(r.json.value)), 'L1 L3 L4 L5');
    for (const l of r.json.value) {
        const want = l['@iot.id'] === fx.id.L4 ? [fx.id.T4] : [];
        assert.deepEqual(l.Things.map((t) => t['@iot.id']), want, `Locations(${l['@iot.id']})/Things`);
    }
});

test('$filter with $count and $top inside $expand', async () => {
    const r = await s.get(expandUrl('Datastreams', 'id eq {D3}', 'Observations($filter=result gt 50;$count=true;$top=1;$select=id)'));
    assert.equal(r.status, 200, r.text);
    const d = r.json.value[0];
    assert.equal(d['Observations@iot.count'], 3);
    assert.equal(d.Observations.length, 1);
    assert.ok(d['Observations@iot.nextLink'], 'Observations@iot.nextLink');
});

test('a bad $filter inside $expand is a 400', async () => {
    const r = await s.get(`Things?$expand=${encodeURIComponent('Datastreams($filter=name eq)')}`);
    assertError(assert, r, 400, { where: 'bad $filter in $expand' });
    const r2 = await s.get(`Things?$expand=${encodeURIComponent('Datastreams($filter=nosuch eq 1)')}`);
    assertError(assert, r2, 400, { where: 'unknown property in $expand $filter' });
    assert.match(r2.json.message, /nosuch/);
});

// ------------------------------------------------------------------ bad input

// [path, filter, {pos: expected column (1-based), msg: regex}]
const BAD = [
    ['Things', 'name eq', { pos: 8, msg: /operand|end/i }],
    ['Things', "(name eq 'x'", { pos: 13, msg: /expected '\)'/ }],
    ['Things', "name eq 'x')", { pos: 12, msg: /unexpected '\)'/ }],
    ['Things', "name eq 'abc", { pos: 9, msg: /unterminated/ }],
    ['Things', "name eqq 'x'", { pos: 6, msg: /eqq/ }],
    ['Things', "name EQ 'x'", { pos: 6, msg: /lower-case/ }],
    ['Things', "substringof('a')", { pos: 1, msg: /substringof.*argument/ }],
    ['Things', "length(name, 'x') eq 1", { pos: 14, msg: /length expects/ }],
    ['Things', 'foo eq 1', { pos: 1, msg: /foo/ }],
    ['Things', 'Datastreams/foo eq 1', { pos: 13, msg: /foo/ }],
    ['Things', 'unknownfn(name) eq 1', { pos: 1, msg: /unknown function 'unknownfn'/ }],
    ['Things', 'Length(name) eq 1', { pos: 1, msg: /lower-case/ }],
    ['Things', 'length(1) eq 1', { pos: 8, msg: /length expects \(string\), got number/ }],
    ['Things', 'name eq 1', { pos: 6, msg: /cannot compare string with number/ }],
    ['Things', 'name gt true', { pos: 6, msg: /cannot compare/ }],
    ['Things', 'name', { pos: 1, msg: /boolean/ }],
    ['Things', 'id add 1', { pos: 1, msg: /boolean/ }],
    ['Things', '1 add', { pos: 6, msg: /operand|end/i }],
    ['Things', "name eq 'a' and", { pos: 16, msg: /operand|end/i }],
    ['Things', 'id eq 1 or or id eq 2', { pos: 12, msg: /unexpected 'or'/ }],
    ['Things', 'true gt false', { pos: 6, msg: /boolean/ }],
    ['Things', 'null gt 1', { pos: 6, msg: /null/ }],
    ['Things', "'a' add 1 eq 2", { pos: 5, msg: /add/ }],
    ['Things', 'not name', { pos: 1, msg: /not/ }],
    ['Things', 'Locations eq 1', { pos: 1, msg: /relation/ }],
    ['Things', 'name/foo eq 1', { msg: /no members/ }],
    ['Things', 'id eq 99999999999999999999', { pos: 7, msg: /out of range/ }],
    ['Things', 'id eq 1.', { pos: 9, msg: /digit/ }],
    ['Things', 'id eq 12abc', { pos: 7, msg: /malformed number/ }],
    ['Things', "name eq 'a' # comment", { pos: 13, msg: /unexpected character '#'/ }],
    ['Things', 'name eq "x"', { pos: 9, msg: /unexpected character '"'/ }],
    ['Things', "fooliteral'abc' eq name", { pos: 1, msg: /unknown literal type/ }],
    ['Things', '', { msg: /empty/ }],
    ['Things', '   ', { msg: /empty/ }],
    ['Things', 'date(name) eq 2026-01-01', { pos: 6, msg: /date expects/ }],
    ['Things', "round('a') eq 1", { pos: 7, msg: /round expects/ }],
    ['Things', "concat('a') eq 'a'", { pos: 1, msg: /concat expects/ }],
    ['Things', 'mindatetime(', { pos: 13, msg: /expect/ }],
    ['Things', "startswith(name, 'a', 'b')", { pos: 23, msg: /startswith expects/ }],
    ['Things', 'id eq 1 )', { pos: 9, msg: /unexpected/ }],
    ['Things', ')', { pos: 1, msg: /unexpected/ }],
    ['Things', ',', { pos: 1, msg: /unexpected/ }],
    ['Things', 'id eq', { pos: 6, msg: /operand|end/i }],
    ['Things', 'eq 1', { pos: 1, msg: /unexpected 'eq'/ }],
    ['Things', 'id eq 1 and (id eq 2 or (id eq 3)', { pos: 34, msg: /expected '\)'/ }],
    ['Observations', 'now(1) gt phenomenonTime', { pos: 5, msg: /now expects/ }],
    ['Observations', 'phenomenonTime gt 2026-13-01T00:00:00Z', { msg: /time/ }],
    ['Observations', "phenomenonTime gt '2026-03-01T00:00:00Z'", { pos: 16, msg: /without quotes/ }],
    ['Observations', "phenomenonTime gt duration'PXYZ'", { msg: /duration/ }],
    ['Observations', 'phenomenonTime gt 2026-03-01T00:00:00Z/', { msg: /time|interval/ }],
    ['Observations', 'year(result, 1) eq 2026', { msg: /year expects/ }],
    ['Observations', 'result/moisture/ eq 1', { msg: /member name/ }],
    ['Locations', "geo.distance(location, 'x') lt 1", { pos: 24, msg: /geo.distance expects/ }],
    ['Locations', "st_relate(location, geography'POINT(1 1)', 'XYZ')", { msg: /DE-9IM/ }],
    ['Locations', "st_within(location, geography'POINT(1)')", { msg: /WKT/ }],
    ['Locations', "st_within(location, geography'CIRCLE(1 1)')", { msg: /unsupported geometry/ }],
    ['Locations', "st_within(location, geography'POLYGON((1 1, 2 2, 3 1, 1 2))')", { msg: /not closed/ }],
    ['Locations', "st_within(location, geography'SRID=3857;POINT(1 1)')", { msg: /SRID/ }],
    ['Locations', "st_within(location, geography'LINESTRING(1 1)')", { msg: /at least 2/ }],
    ['Locations', "location eq geography'POINT(1 1)'", { msg: /st_equals/ }],
    ['Locations', "st_within(location)", { pos: 1, msg: /st_within expects/ }],
    ['Locations', "st_within(name, geography'POINT(1 1)')", { pos: 11, msg: /st_within expects/ }],
    ['Locations', "geo.length(location) gt 'a'", { msg: /cannot compare number with string/ }],
    ['Things', "Datastreams/Thing/Datastreams/Thing/Datastreams/Thing/Datastreams/Thing/Datastreams/name eq 'x'", { msg: /8 relations/ }],
    ['Things', 'properties/a/b/c/d/e/f/g/h/i eq 1', { msg: /8 keys/ }],
    ['Things', 'properties/ eq 1', { pos: 12, msg: /member name/ }],
    ['Things', 'properties /owner eq 1', { msg: /unexpected|operand/ }],
];

for (const [path, filter, want] of BAD) {
    test(`bad $filter on ${path}: ${JSON.stringify(filter)} -> 400`, async () => {
        const { r, url } = await filterIds(path, filter);
        assertError(assert, r, 400, { where: `GET ${url}` });
        assert.match(r.json.message, want.msg, `message of ${url}: ${r.json.message}`);
        if (want.pos !== undefined) {
            assert.equal(r.json.position, want.pos, `position of ${JSON.stringify(filter)}: ${r.text}`);
        }
    });
}

test('an over-long $filter (> 16384 characters) is a 400 naming the limit', async () => {
    for (const long of [`name eq '${'a'.repeat(17000)}'`, `${'id eq 1 or '.repeat(1600)}id eq 1`, '('.repeat(20000)]) {
        assert.ok(long.length > 16384);
        const { r } = await filterIds('Things', long);
        assertError(assert, r, 400, { where: `$filter of ${long.length} characters` });
        assert.match(r.json.message, /16384/);
    }
});

test('a URL beyond what the HTTP layer buffers (32 KiB): 414, never 5xx or a hang', async () => {
    // libmicrohttpd answers this one itself, before klammer sees the request: the
    // status is right, its body is libmicrohttpd's HTML (documented exception).
    const huge = `name eq '${'a'.repeat(60000)}'`;
    const { r } = await filterIds('Things', huge);
    assert.equal(r.status, 414, `${r.status} ${r.text.slice(0, 200)}`);
    // Up to the limit the JSON error of the $filter parser answers.
    const long = `name eq '${'a'.repeat(20000)}'`;
    const { r: r2 } = await filterIds('Things', long);
    assertError(assert, r2, 400, { where: 'a 20 kB $filter' });
    assert.match(r2.json.message, /16384/);
    const after = await s.get('Things?$top=1');
    assert.equal(after.status, 200);
});

test('a $filter of exactly 16384 characters, or long and flat, is fine', async () => {
    const exact = `name eq '${'a'.repeat(16384 - 10)}'`;
    assert.equal(exact.length, 16384);
    const { r } = await filterIds('Things', exact);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.deepEqual(r.json.value, []);
    const flat = `${'id eq {T2} or '.repeat(1000)}id eq {T3}`;
    assert.ok(subst(flat).length < 16384);
    const r2 = (await filterIds('Things', flat)).r;
    assert.equal(r2.status, 200, r2.text.slice(0, 300));
    assert.equal(label('Things', r2.json.value.map((e) => e['@iot.id']).sort((a, b) => a - b)), 'T2 T3');
});

test('a $filter nested deeper than 64 levels is a 400 naming the limit', async () => {
    const deep = [
        `${'('.repeat(70)}id eq 1${')'.repeat(70)}`,
        `${'not '.repeat(70)}id eq 1`,
        `${'- '.repeat(70)}1 eq id`,
        `${'tolower('.repeat(70)}name${')'.repeat(70)} eq 'x'`,
        `${'('.repeat(5000)}`,
        `${'not ('.repeat(1000)}true${')'.repeat(1000)}`,
    ];
    for (const f of deep) {
        const { r } = await filterIds('Things', f);
        assertError(assert, r, 400, { where: `deep ${f.slice(0, 40)}...` });
        assert.match(r.json.message, /64|16384/, r.json.message);
    }
    const ok = `${'('.repeat(50)}id eq {T4}${')'.repeat(50)}`;
    const { r } = await filterIds('Things', ok);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.value.map((e) => e['@iot.id']), [fx.id.T4]);
});

// ------------------------------------------------------------------ injection

// [path, filter, expected names, or 400]
const INJECT = [
    ['Things', "name eq 'x'' OR 1=1 --'", ''],
    ['Things', "name eq 'x'' OR ''1''=''1'", ''],
    ['Things', "name eq 'x'; DROP TABLE things; --'", 400],
    ['Things', "name eq 'x'/* comment */", 400],
    ['Things', "name eq '/* comment */'", ''],
    ['Things', "properties/a'b eq 1", 400],
    ['Things', 'properties/a"b eq 1', 400],
    ['Things', 'properties/a-b eq 1', ''],
    ['Things', 'properties/$.owner eq 1', ''],
    ['Things', "properties/owner\"].name eq 'x'", 400],
    ['Things', "properties/owner/name eq 'WBH'') --'", ''],
    ['Things', "name eq 'Robert''); DROP TABLE things;--'", ''],
    ['Things', "name eq 'back\\slash\\'' OR 1=1 --'", ''],
    ['Things', "name eq 'Pegel Volme Eckesey'' --'", ''],
    ['Things', "name eq 'Pegel Volme Eckesey' --'", 400],
    ['Things', "name eq 'Pegel Volme Eckesey' -- comment", 400],
    ['Things', "name eq 'x' or 1 eq 1", ALL_T],
    ['Things', 'id eq 1; DROP TABLE things', 400],
    ['Things', 'id eq 1 UNION SELECT 1', 400],
    ['Things', 'id eq (SELECT 1)', 400],
    ['Things', "properties/x'); DROP TABLE things; -- eq 1", 400],
    ['Things', "substringof(''';--', name)", ''],
    ['Things', "name eq 'Ünïcödé 🚀 ''; DROP'", ''],
    ['Things', "name eq 'Abfallbehälter Friedrich-Ebert-Platz'", 'T3'],
    ['Things', "name eq '%27 OR 1=1'", ''],
    ['Things', "name eq '\\'; DROP TABLE things; --'", 400], // no backslash escapes in OData: the literal is '\\'
    ['Things', "name eq '\"; DROP TABLE things; --'", ''],
    ['Things', "name eq 'x' and properties/owner'/name eq 'y'", 400],
    ['Things', "name eq '\u0000'", '400|'],
    ['Things', "name eq 'a\nb' or name eq 'a\rb'", ''],
    ['Things', "Datastreams/name eq 'x'' OR 1=1) --'", ''],
    ['Things', "properties/owner/name eq '?1' or properties/owner/name eq ':a' or properties/owner/name eq '$1'", ''],
    ['Things', 'id eq 1 or 1=1', 400],
    ['Locations', "st_within(location, geography'POINT(1 1)) OR 1=1 --')", 400],
    ['Locations', "st_within(location, geography'POINT(1 1)'')')", 400],
    ['Locations', "st_equals(location, geography'POINT(7.55 51.36); DROP TABLE locations')", 400],
    ['Locations', "st_equals(location, geography'POINT(7.55 51.36)'); DROP TABLE locations; --", 400],
    ['Locations', "st_relate(location, geography'POINT(7.55 51.36)', 'T*F**FFF*'') OR 1=1 --')", 400],
    ['Observations', "result eq '1'' UNION SELECT * FROM things --'", ''],
    ['Observations', "parameters/gateway eq 'gw-eilpe'' OR ''a''=''a'", ''],
    ['Observations', 'parameters/rssi eq -87 or parameters/rssi eq 1; DELETE FROM observations', 400],
    ['Observations', "Datastream/Thing/name eq 'x'' or ''1''=''1'", ''],
    ['Observations', "phenomenonTime gt 2026-03-01T00:00:00Z'); DROP TABLE observations; --", 400],
    ['Observations', "phenomenonTime gt 2026-03-01T00:00:00Z;DROP", 400],
    ['Observations', "result eq duration'P1D''; DROP'", 400],
    ['Observations', 'result eq 1e999', 400],
    ['Observations', "parameters/gateway') IS NULL OR ('1 eq 'x'", 400],
    ['Observations', "result/x\\\" eq 1", 400],
];

test('injection attempts: 400 or the exact answer, and nothing changed', async () => {
    const before = await countAll(s);
    const t1 = await s.getJson(`Things(${fx.id.T1})`);
    for (const [path, filter, want] of INJECT) {
        const { r, url } = await filterIds(path, filter);
        assert.ok(r.status < 500, `GET ${url} -> ${r.status} ${r.text}`);
        if (want === 400) {
            assertError(assert, r, 400, { where: `GET ${url}` });
        } else if (want === '400|') {
            assert.ok(r.status === 400 || (r.status === 200 && r.json.value.length === 0), `GET ${url} -> ${r.status} ${r.text}`);
        } else {
            assert.equal(r.status, 200, `GET ${url} -> ${r.status} ${r.text}`);
            const set = setOfPath(path);
            const got = r.json.value.map((e) => e['@iot.id']).sort((a, b) => a - b);
            const exp = names(want).map((n) => fx.id[n]).sort((a, b) => a - b);
            assert.equal(label(set, got), label(set, exp), `GET ${url}`);
        }
    }
    // inside $expand as well
    const r = await s.get(`Things?$expand=${encodeURIComponent("Datastreams($filter=name eq 'x'' OR 1=1 --')")}`);
    assert.equal(r.status, 200, r.text);
    for (const t of r.json.value) assert.deepEqual(t.Datastreams, []);
    const r2 = await s.get(`Things?$expand=${encodeURIComponent("Datastreams($filter=name eq 'x'); DROP TABLE datastreams; --)")}`);
    assert.ok(r2.status === 400, `${r2.status} ${r2.text}`);
    assert.deepEqual(await countAll(s), before, 'collection counts unchanged');
    assert.deepEqual(await s.getJson(`Things(${fx.id.T1})`), t1, 'Thing unchanged');
    for (const set of ENTITY_SETS) {
        const all = await s.get(`${set}?$top=1`);
        assert.equal(all.status, 200, `${set} still readable`);
    }
});

// ------------------------------------------------------------------ the conformance suites' own $filter checks

// FROST-Server.Tests c03filtering/Capability3Tests (and OGC ets-sta10
// filteringExtension/Capability3Tests, the same check): 12 Observations with
// results 1..12 on 2015-03-01..12.  checkQueriesPriorityOrdering expects
// `result gt '3'` to count 6 - the numeric results compared as text with
// the string literal ("4".."9"; "10" to "12" sort before "3") - and, with
// $orderby=phenomenonTime asc&$skip=2&$top=1, the Observation with result 6.
// checkAndOrPrecendece / checkArithmeticPrecendece expect exactly the
// Observation with result 1 for each expression below.
test('FROST/ets Capability3: priority of query options and operator precedence', async () => {
    const s2 = await startServer();
    try {
        const thing = await s2.create('Things', { name: 'Thing', description: 'd' });
        const sensor = await s2.create('Sensors', { name: 'S', description: 'd', encodingType: 'application/pdf', metadata: 'm' });
        const op = await s2.create('ObservedProperties', { name: 'P', definition: 'd', description: 'd' });
        const ds = await s2.create('Datastreams', {
            name: 'D', description: 'd', observationType: 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement',
            unitOfMeasurement: { name: 'n', symbol: 's', definition: 'd' },
            Thing: { '@iot.id': thing['@iot.id'] }, Sensor: { '@iot.id': sensor['@iot.id'] }, ObservedProperty: { '@iot.id': op['@iot.id'] },
        });
        const foi = await s2.create('FeaturesOfInterest', { name: 'F', description: 'd', encodingType: 'application/geo+json', feature: { type: 'Point', coordinates: [7.5, 51.4] } });
        for (let n = 1; n <= 12; n++) {
            await s2.create(`Datastreams(${ds['@iot.id']})/Observations`, {
                phenomenonTime: `2015-03-${String(n).padStart(2, '0')}T00:00:00Z`, result: n, FeatureOfInterest: { '@iot.id': foi['@iot.id'] },
            });
        }
        const r = await s2.get("Observations?$count=true&$top=1&$skip=2&$orderby=phenomenonTime%20asc&$filter=result%20gt%20'3'");
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json['@iot.count'], 6, `count of result gt '3': ${r.text}`);
        assert.equal(r.json.value.length, 1);
        assert.equal(String(r.json.value[0].result), '6');
        for (const f of [
            'result eq 2 and result eq 1 or result eq 1',
            '(result eq 2 and result eq 1) or result eq 1',
            'not result lt 1 and not result gt 1',
            '1 add result mul 2 sub -1 eq 4',
            '6 div 2 sub result eq 2',
            '1 add 2.0 mod (result add 1) eq 1',
            '14 div (result add 1) mod 3 mul 3 eq 3',
        ]) {
            const q = await s2.get(`Observations?$filter=${encodeURIComponent(f)}`);
            assert.equal(q.status, 200, `${f}: ${q.text}`);
            assert.deepEqual(q.json.value.map((o) => o.result), [1], f);
        }
        const none = await s2.get(`Observations?$filter=${encodeURIComponent('result eq 2 and (result eq 1 or result eq 1)')}`);
        assert.deepEqual(none.json.value, []);
    } finally {
        assert.equal(await s2.stop(), 0);
    }
});
