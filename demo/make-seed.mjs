// make-seed.mjs - writes demo/hagen.json, the Hagen demo sensor network that
// `klammer demo` seeds through the SensorThings API (src/app/demo.c).
//
// Run once with `node demo/make-seed.mjs` and check the output in; the C code
// reads only the JSON.  Places, waters, gauge values and device payloads come
// from public sources on Hagen and the vendors' datasheets; coordinates are
// approximations for a demo, thresholds marked "geschätzt" are invented.
//
// File format (one object):
//   "sensors":            { key: Sensor }            POSTed to /Sensors first
//   "observedProperties": { key: ObservedProperty }  POSTed to /ObservedProperties
//   "things":             [ Thing ]                  POSTed to /Things (deep insert)
// In a Thing's Datastreams, "Sensor" and "ObservedProperty" are keys into the
// two maps; the seeding code replaces them with {"@iot.id": n}.
//
// SPDX-License-Identifier: Apache-2.0

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// --- Units (UCUM codes in "symbol") -----------------------------------------
const UCUM = 'http://unitsofmeasure.org/ucum.html';
const U = {
    m: { name: 'Meter', symbol: 'm', definition: `${UCUM}#para-28` },
    cm: { name: 'Zentimeter', symbol: 'cm', definition: `${UCUM}#para-28` },
    mm: { name: 'Millimeter', symbol: 'mm', definition: `${UCUM}#para-28` },
    cel: { name: 'Grad Celsius', symbol: 'Cel', definition: `${UCUM}#para-30` },
    pct: { name: 'Prozent', symbol: '%', definition: `${UCUM}#para-29` },
    ppm: { name: 'Parts per million', symbol: '[ppm]', definition: `${UCUM}#para-29` },
    hpa: { name: 'Hektopascal', symbol: 'hPa', definition: `${UCUM}#para-30` },
    volt: { name: 'Volt', symbol: 'V', definition: `${UCUM}#para-30` },
    count: { name: 'Anzahl', symbol: '{count}', definition: `${UCUM}#para-29` },
    bool: { name: 'belegt (true/false)', symbol: '1', definition: `${UCUM}#para-29` },
    uscm: { name: 'Mikrosiemens pro Zentimeter', symbol: 'uS/cm', definition: `${UCUM}#para-30` },
    kwh: { name: 'Kilowattstunde', symbol: 'kW.h', definition: `${UCUM}#para-30` },
    kw: { name: 'Kilowatt', symbol: 'kW', definition: `${UCUM}#para-30` },
};

const OT = 'http://www.opengis.net/def/observationType/OGC-OM/2.0/';
const MEAS = OT + 'OM_Measurement';
const TRUTH = OT + 'OM_TruthObservation';
const COUNT = OT + 'OM_CountObservation';

// --- Sensors: one per device model ------------------------------------------
const sensors = {
    'DL-MBX': {
        name: 'Decentlab DL-MBX',
        description: 'Ultraschall-Abstandssensor (LoRaWAN), über dem Gewässer montiert; Wasserstand = Montagehöhe − Abstand.',
        encodingType: 'application/pdf',
        metadata: 'https://cdn.decentlab.com/download/datasheets/Decentlab-DL-MBX-datasheet.pdf',
        properties: { manufacturer: 'Decentlab GmbH', model: 'DL-MBX', payload: 'Decentlab v2, fPort 1' },
    },
    'DL-PR26': {
        name: 'Decentlab DL-PR26',
        description: 'Tauchdrucksonde 0–1 bar mit Temperaturmessung (LoRaWAN) für Pegel an Flüssen, Bächen und Teichen.',
        encodingType: 'application/pdf',
        metadata: 'https://cdn.decentlab.com/download/datasheets/Decentlab-DL-PR26-datasheet.pdf',
        properties: { manufacturer: 'Decentlab GmbH', model: 'DL-PR26', payload: 'Decentlab v2, fPort 1' },
    },
    'DL-TBRG': {
        name: 'Decentlab DL-TBRG',
        description: 'Kippwaagen-Regenmesser, Auflösung 0,1 mm je Kippung (LoRaWAN).',
        encodingType: 'application/pdf',
        metadata: 'https://cdn.decentlab.com/download/datasheets/Decentlab-DL-TBRG-datasheet.pdf',
        properties: { manufacturer: 'Decentlab GmbH', model: 'DL-TBRG', payload: 'Decentlab v2, fPort 1' },
    },
    'EM500-SWL': {
        name: 'Milesight EM500-SWL',
        description: 'Tauchsonde für Wasserstand in Zentimetern (LoRaWAN), für kleine Bäche.',
        encodingType: 'text/html',
        metadata: 'https://www.milesight.com/iot/product/lorawan-sensor/em500-swl',
        properties: { manufacturer: 'Xiamen Milesight IoT Co., Ltd.', model: 'EM500-SWL', payload: 'Milesight TLV, fPort 85' },
    },
    'EM310-UDL': {
        name: 'Milesight EM310-UDL',
        description: 'Ultraschall-Füllstandssensor für Abfallbehälter (LoRaWAN), mit Neigungserkennung.',
        encodingType: 'text/html',
        metadata: 'https://www.milesight.com/iot/product/lorawan-sensor/em310-udl',
        properties: { manufacturer: 'Xiamen Milesight IoT Co., Ltd.', model: 'EM310-UDL', payload: 'Milesight TLV, fPort 85' },
    },
    LDDS75: {
        name: 'Dragino LDDS75',
        description: 'Ultraschall-Abstandssensor 280–7500 mm (LoRaWAN) für Sammelcontainer.',
        encodingType: 'text/html',
        metadata: 'https://wiki.dragino.com/xwiki/bin/view/Main/User%20Manual%20for%20LoRaWAN%20End%20Nodes/LDDS75%20-%20LoRaWAN%20Distance%20Detection%20Sensor%20User%20Manual/',
        properties: { manufacturer: 'Dragino Technology Co., Ltd.', model: 'LDDS75', payload: 'Dragino, fPort 2, 8 Byte' },
    },
    TPS110: {
        name: 'Bosch Parking Lot Sensor TPS110',
        description: 'Magnetfeld-Bodensensor für einen Stellplatz (LoRaWAN), meldet Belegungswechsel.',
        encodingType: 'text/html',
        metadata: 'https://www.bosch-connectivity.com/products/connected-mobility/parking-lot-sensor/',
        properties: { manufacturer: 'Bosch Connected Devices and Solutions GmbH', model: 'TPS110', payload: 'Bosch PLS, fPort 1/2/3' },
    },
    'ERS-CO2': {
        name: 'Elsys ERS CO2',
        description: 'Raumsensor für Temperatur, Luftfeuchte und CO2 (LoRaWAN) für Büros und Klassenräume.',
        encodingType: 'text/html',
        metadata: 'https://www.elsys.se/en/ers-co2/',
        properties: { manufacturer: 'Elektroniksystem i Umeå AB (Elsys)', model: 'ERS CO2', payload: 'Elsys TLV' },
    },
    'EM500-CO2': {
        name: 'Milesight EM500-CO2',
        description: 'Außensensor für CO2, Temperatur, Luftfeuchte und Luftdruck (LoRaWAN).',
        encodingType: 'text/html',
        metadata: 'https://www.milesight.com/iot/product/lorawan-sensor/em500-co2',
        properties: { manufacturer: 'Xiamen Milesight IoT Co., Ltd.', model: 'EM500-CO2', payload: 'Milesight TLV, fPort 85' },
    },
    LSE01: {
        name: 'Dragino LSE01',
        description: 'Bodenfeuchte-, Bodentemperatur- und Leitfähigkeitssensor (LoRaWAN).',
        encodingType: 'text/html',
        metadata: 'https://wiki.dragino.com/xwiki/bin/view/Main/User%20Manual%20for%20LoRaWAN%20End%20Nodes/LSE01-LoRaWAN%20Soil%20Moisture%20%26%20EC%20Sensor%20User%20Manual/',
        properties: { manufacturer: 'Dragino Technology Co., Ltd.', model: 'LSE01', payload: 'Dragino, fPort 2, 11 Byte' },
    },
    PCR2: {
        name: 'Parametric PCR2',
        description: 'Radar-Personenzähler (LoRaWAN), zählt Passanten in beide Richtungen.',
        encodingType: 'text/html',
        metadata: 'https://www.parametric.ch/de/pcr2',
        properties: { manufacturer: 'Parametric GmbH', model: 'PCR2', payload: 'Parametric v4, fPort 14' },
    },
    'EM300-DI': {
        name: 'Milesight EM300-DI',
        description: 'Impulszähler am S0-Ausgang eines Stromzählers (LoRaWAN), 1000 Impulse je kWh.',
        encodingType: 'text/html',
        metadata: 'https://www.milesight.com/iot/product/lorawan-sensor/em300-di',
        properties: { manufacturer: 'Xiamen Milesight IoT Co., Ltd.', model: 'EM300-DI', payload: 'Milesight TLV, fPort 85' },
    },
};

// --- Observed properties ----------------------------------------------------
const CF = 'http://vocab.nerc.ac.uk/standard_name/';
const WP = 'https://de.wikipedia.org/wiki/';
const op = (name, definition, description, en) => ({ name, definition, description, properties: { name_en: en } });
const observedProperties = {
    wasserstand: op('Wasserstand', CF + 'water_surface_height_above_reference_datum/',
        'Höhe des Wasserspiegels über dem Pegelnullpunkt.', 'water level'),
    wassertemperatur: op('Wassertemperatur', WP + 'Wassertemperatur',
        'Temperatur des Gewässers an der Messstelle.', 'water temperature'),
    lufttemperatur: op('Lufttemperatur', CF + 'air_temperature/',
        'Temperatur der Luft am Messort (innen oder außen, siehe Thing).', 'air temperature'),
    luftfeuchte: op('Relative Luftfeuchte', CF + 'relative_humidity/',
        'Relative Feuchte der Luft.', 'relative humidity'),
    co2: op('CO2-Konzentration', CF + 'mole_fraction_of_carbon_dioxide_in_air/',
        'Stoffmengenanteil von Kohlenstoffdioxid in der Luft.', 'CO2 concentration'),
    luftdruck: op('Luftdruck', CF + 'surface_air_pressure/',
        'Luftdruck auf Stationshöhe (nicht auf Meereshöhe reduziert).', 'station air pressure'),
    niederschlag: op('Niederschlag', CF + 'precipitation_amount/',
        'Niederschlagsmenge seit der letzten Meldung (Kippwaage, 0,1 mm je Kippung).', 'precipitation amount per interval'),
    fuellstand: op('Füllstand', WP + 'F%C3%BCllstand',
        'Füllgrad eines Abfall- oder Wertstoffbehälters.', 'fill level of a bin'),
    abstand: op('Abstand zum Füllgut', WP + 'F%C3%BCllstandmessung',
        'Abstand vom Ultraschallsensor im Deckel bis zur Oberfläche des Füllguts.', 'distance from the lid sensor to the contents'),
    belegung: op('Stellplatzbelegung', WP + 'Parkplatz',
        'true, wenn der Stellplatz belegt ist.', 'parking space occupied'),
    passantenLR: op('Passanten links nach rechts', WP + 'Passantenfrequenz',
        'Anzahl der Personen, die seit der letzten Meldung die Messlinie von links nach rechts gequert haben.', 'pedestrians left to right per interval'),
    passantenRL: op('Passanten rechts nach links', WP + 'Passantenfrequenz',
        'Anzahl der Personen, die seit der letzten Meldung die Messlinie von rechts nach links gequert haben.', 'pedestrians right to left per interval'),
    bodenfeuchte: op('Bodenfeuchte', CF + 'volume_fraction_of_condensed_water_in_soil/',
        'Volumetrischer Wassergehalt des Bodens in Sensortiefe.', 'volumetric soil moisture'),
    bodentemperatur: op('Bodentemperatur', CF + 'soil_temperature/',
        'Temperatur des Bodens in Sensortiefe.', 'soil temperature'),
    leitfaehigkeit: op('Elektrische Leitfähigkeit des Bodens', WP + 'Elektrische_Leitf%C3%A4higkeit',
        'Elektrische Leitfähigkeit des Bodens, Hinweis auf Salz- und Nährstoffgehalt.', 'soil electrical conductivity'),
    batteriespannung: op('Batteriespannung', WP + 'Elektrische_Spannung',
        'Spannung der Gerätebatterie.', 'battery voltage'),
    batterieladung: op('Batterieladung', WP + 'Ladezustand',
        'Ladezustand der Gerätebatterie.', 'battery state of charge'),
    energie: op('Elektrische Energie', WP + 'Elektrische_Energie',
        'Zählerstand des Stromzählers (kumuliert).', 'electric energy, cumulative meter reading'),
    leistung: op('Elektrische Leistung', WP + 'Elektrische_Leistung',
        'Mittlere Wirkleistung seit der letzten Meldung, aus den Zählimpulsen berechnet.', 'mean active power over the interval'),
};

// --- Helpers ----------------------------------------------------------------
function ds(name, description, unit, obsType, sensor, observedProperty, props) {
    const d = { name, description, observationType: obsType, unitOfMeasurement: U[unit], Sensor: sensor, ObservedProperty: observedProperty };
    if (props) d.properties = props;
    return d;
}

function loc(name, description, lon, lat) {
    return {
        name, description, encodingType: 'application/geo+json',
        location: { type: 'Point', coordinates: [lon, lat] },
    };
}

const BASE_PROPS = { stadt: 'Hagen', ags: '05914000', netz: 'ENERVIE LoRaWAN' };

function thing(name, description, descriptionEn, props, location, datastreams) {
    return {
        name, description,
        properties: { ...BASE_PROPS, ...props, description_en: descriptionEn },
        Locations: [location],
        Datastreams: datastreams,
    };
}

const battV = (place, model) => ds(`Batteriespannung ${place}`, `Batteriespannung des ${model} ${place}.`, 'volt', MEAS, model, 'batteriespannung');
const battP = (place, model) => ds(`Batterieladung ${place}`, `Ladezustand der Batterie des ${model} ${place}.`, 'pct', MEAS, model, 'batterieladung');

const things = [];

// --- 1. Water-level gauges --------------------------------------------------
const gauges = [
    {
        id: 'eckesey', name: 'Pegel Volme Hagen-Eckesey', water: 'Volme', model: 'DL-MBX', unit: 'm',
        bezirk: 'Hagen-Nord', stadtteil: 'Eckesey', lon: 7.4553, lat: 51.3712, area: 421,
        where: 'an der Volme in Eckesey, unterhalb der Ennepemündung',
        official: { name: 'Hagen-Eckesey', betreiber: 'Ruhrverband', anzeige: 'LANUV Hochwasserportal' },
        levels: { mittelwasser_m: 1.05, mittleresHochwasser_m: 2.40, ersteHochwassermarke_m: 1.75, informationswert1_m: 2.19, informationswert3_m: 3.80, hoechststand_m: 4.40, hoechststand_datum: '2021-07-14' },
        mount: 5.20,
    },
    {
        id: 'ambrock', name: 'Pegel Volme Hagen-Ambrock', water: 'Volme', model: 'DL-PR26', unit: 'm',
        bezirk: 'Eilpe/Dahl', stadtteil: 'Ambrock', lon: 7.5008, lat: 51.3305, area: 320,
        where: 'an der Volme in Ambrock (B 54)',
        official: { name: 'Hagen-Ambrock', betreiber: 'Hydrologischer Dienst (laut Presse)' },
        levels: { mittelwasser_m: 0.55, ersteHochwassermarke_m: 1.40, hinweis: 'erste Hochwassermarke geschätzt', hoechststand_m: 2.07, hoechststand_datum: '2023-12-23' },
    },
    {
        id: 'hohenlimburg', name: 'Pegel Lenne Hohenlimburg', water: 'Lenne', model: 'DL-MBX', unit: 'm',
        bezirk: 'Hohenlimburg', stadtteil: 'Hohenlimburg', lon: 7.5612, lat: 51.3497, area: 1322,
        where: 'an der Lenne in Hohenlimburg, 6,9 km oberhalb der Mündung',
        official: { name: 'Hagen-Hohenlimburg', betreiber: 'Ruhrverband' },
        levels: { mittelwasser_m: 0.73, mittleresHochwasser_m: 2.77, ersteHochwassermarke_m: 2.40, hinweis: 'erste Hochwassermarke geschätzt', hoechststand_m: 5.60, hoechststand_datum: '2021-07-14' },
        mount: 7.50,
    },
    {
        id: 'haspe', name: 'Pegel Ennepe Hagen-Haspe', water: 'Ennepe', model: 'DL-PR26', unit: 'm',
        bezirk: 'Haspe', stadtteil: 'Haspe', lon: 7.4178, lat: 51.3489, area: 156,
        where: 'an der Ennepe in Haspe, 4 km oberhalb der Mündung in die Volme',
        official: { name: 'Hagen-Haspe', abfluss_MQ_m3s: 3.44, abfluss_MHQ_m3s: 39.4, abfluss_HHQ_m3s: 161 },
        levels: { mittelwasser_m: 0.45, ersteHochwassermarke_m: 1.20, hinweis: 'Mittelwasser und Hochwassermarke geschätzt', hoechststand_m: 1.39, hoechststand_datum: '2023-12-23' },
    },
    {
        id: 'hengstey', name: 'Pegel Ruhr Hengsteysee', water: 'Ruhr', model: 'DL-MBX', unit: 'm',
        bezirk: 'Hagen-Nord', stadtteil: 'Boele', lon: 7.4784, lat: 51.4117, area: 3910,
        where: 'am Hengsteysee (Ruhrstausee), Nordufer bei Hengstey',
        official: { name: 'Hengsteysee', betreiber: 'Ruhrverband', hinweis: 'Stausee, Wasserstand weitgehend durch das Wehr geregelt' },
        levels: { mittelwasser_m: 1.80, ersteHochwassermarke_m: 2.60, hinweis: 'Werte geschätzt' },
        mount: 4.00,
    },
    {
        id: 'vorhalle', name: 'Pegel Ruhr Hagen-Vorhalle', water: 'Ruhr', model: 'DL-MBX', unit: 'm',
        bezirk: 'Hagen-Nord', stadtteil: 'Vorhalle', lon: 7.4349, lat: 51.4041, area: 4120,
        where: 'an der Ruhr in Vorhalle, unterhalb der Volmemündung',
        official: { name: 'Hagen-Vorhalle', vergleichspegel: 'Wetter (Ruhrverband), Mittelwasser 2,06 m' },
        levels: { mittelwasser_m: 2.00, ersteHochwassermarke_m: 3.60, hinweis: 'Werte geschätzt' },
        mount: 7.00,
    },
    {
        id: 'nahmer', name: 'Pegel Nahmer Bach', water: 'Nahmer Bach', model: 'EM500-SWL', unit: 'cm',
        bezirk: 'Hohenlimburg', stadtteil: 'Nahmer', lon: 7.5871, lat: 51.3421, area: 14,
        where: 'am Nahmer Bach im Nahmertal (Hochwasser-Schwerpunkt 2021 und 2023)',
        levels: { mittelwasser_m: 0.25, ersteHochwassermarke_m: 0.90, hinweis: 'Werte geschätzt' },
    },
    {
        id: 'hasper', name: 'Pegel Hasper Bach', water: 'Hasper Bach', model: 'EM500-SWL', unit: 'cm',
        bezirk: 'Haspe', stadtteil: 'Haspe', lon: 7.4136, lat: 51.3392, area: 11,
        where: 'am Hasper Bach unterhalb der Hasper Talsperre',
        levels: { mittelwasser_m: 0.20, ersteHochwassermarke_m: 0.80, hinweis: 'Werte geschätzt' },
    },
    {
        id: 'selbecke', name: 'Pegel Selbecker Bach', water: 'Selbecker Bach', model: 'EM500-SWL', unit: 'cm',
        bezirk: 'Eilpe/Dahl', stadtteil: 'Selbecke', lon: 7.4936, lat: 51.3331, area: 9,
        where: 'am Selbecker Bach in Selbecke',
        levels: { mittelwasser_m: 0.18, ersteHochwassermarke_m: 0.70, hinweis: 'Werte geschätzt' },
    },
];

const euis = {
    'DL-MBX': ['70B3D57BA0000B12', '70B3D57BA0000B17', '70B3D57BA0000B2C', '70B3D57BA0000B31'],
    'DL-PR26': ['70B3D57BA0000C41', '70B3D57BA0000C4E'],
    'EM500-SWL': ['24E124126C154201', '24E124126C154219', '24E124126C15422E'],
};

for (const g of gauges) {
    const eui = euis[g.model].shift();
    const props = {
        stadtbezirk: g.bezirk, stadtteil: g.stadtteil, kategorie: 'Pegel', gewaesser: g.water,
        betreiber: 'WBH – Wirtschaftsbetrieb Hagen', geraet: sensors[g.model].name, devEUI: eui,
        einzugsgebiet_km2: g.area, ...g.levels,
    };
    if (g.mount) props.montagehoehe_ueber_pegelnull_m = g.mount;
    if (g.official) props.amtlicherPegel = g.official;
    const streams = [
        ds(`Wasserstand ${g.name.replace('Pegel ', '')}`, `Wasserstand ${g.where}, über Pegelnull.`,
            g.unit, MEAS, g.model, 'wasserstand'),
    ];
    if (g.model === 'DL-PR26')
        streams.push(ds(`Wassertemperatur ${g.name.replace('Pegel ', '')}`, `Wassertemperatur ${g.where}.`,
            'cel', MEAS, g.model, 'wassertemperatur'));
    streams.push(g.model === 'EM500-SWL' ? battP(g.name, g.model) : battV(g.name, g.model));
    things.push(thing(g.name,
        `LoRaWAN-Wasserstandsmessung ${g.where} (${sensors[g.model].name}).`,
        `LoRaWAN water-level gauge on the ${g.water} at ${g.stadtteil}, Hagen.`,
        props, loc(g.name, `Messstelle ${g.where}`, g.lon, g.lat), streams));
}

// --- 2. Waste bins and paper containers -------------------------------------
const bins = [
    ['Papierkorb Friedrich-Ebert-Platz Nord', 'Friedrich-Ebert-Platz, vor dem Rathaus', 7.4744, 51.3596, 'papierkorb', 'hoch'],
    ['Papierkorb Friedrich-Ebert-Platz Süd', 'Friedrich-Ebert-Platz, Haltestelle', 7.4738, 51.3587, 'papierkorb', 'hoch'],
    ['Papierkorb Elberfelder Straße 20', 'Elberfelder Straße 20, Fußgängerzone', 7.4712, 51.3597, 'papierkorb', 'hoch'],
    ['Papierkorb Elberfelder Straße 58', 'Elberfelder Straße 58, Fußgängerzone', 7.4676, 51.3601, 'papierkorb', 'hoch'],
    ['Papierkorb Mittelstraße', 'Mittelstraße, Ecke Kampstraße', 7.4717, 51.3608, 'papierkorb', 'mittel'],
    ['Papierkorb Volkspark Eingang Körnerstraße', 'Volkspark, Eingang Körnerstraße', 7.4658, 51.3579, 'papierkorb', 'mittel'],
    ['Papierkorb Volkspark Spielplatz', 'Volkspark, am Spielplatz', 7.4689, 51.3564, 'papierkorb', 'mittel'],
    ['Papierkorb Elbersufer', 'Elbersufer, Volmepromenade', 7.4792, 51.3566, 'papierkorb', 'mittel'],
    ['Papierkorb Hauptbahnhof Vorplatz', 'Berliner Platz, Hauptbahnhof', 7.4604, 51.3623, 'papierkorb', 'hoch'],
    ['Unterflurbehälter Hohenzollernstraße', 'Hohenzollernstraße, Wertstoffinsel', 7.4669, 51.3611, 'unterflur', 'mittel'],
    ['Unterflurbehälter Badstraße', 'Badstraße, Wertstoffinsel', 7.4761, 51.3575, 'unterflur', 'mittel'],
    ['Altpapiercontainer Potthofstraße', 'Potthofstraße, Containerstandplatz', 7.4644, 51.3594, 'papier', 'mittel'],
    ['Altpapiercontainer Dahlenkampstraße', 'Dahlenkampstraße, Containerstandplatz', 7.4716, 51.3641, 'papier', 'gering'],
    ['Altpapiercontainer Elbersufer', 'Elbersufer, Parkplatz Elbershallen', 7.4801, 51.3559, 'papier', 'mittel'],
    ['Altglascontainer Bahnhofstraße', 'Bahnhofstraße, Containerstandplatz', 7.4631, 51.3617, 'glas', 'gering'],
];
const binTypes = {
    papierkorb: { typ: 'Papierkorb 100 l', volumen_l: 100, hoehe: 800, model: 'EM310-UDL', leerung: { wochentage: [1, 2, 3, 4, 5, 6], uhrzeit: '06:30' }, abfall: 'Restabfall' },
    unterflur: { typ: 'Unterflurbehälter 3 m³', volumen_l: 3000, hoehe: 1500, model: 'EM310-UDL', leerung: { wochentage: [2, 5], uhrzeit: '07:00' }, abfall: 'Restabfall' },
    papier: { typ: 'Depotcontainer Altpapier 3,2 m³', volumen_l: 3200, hoehe: 1600, model: 'LDDS75', leerung: { wochentage: [3], uhrzeit: '08:00' }, abfall: 'Papier, Pappe, Karton' },
    glas: { typ: 'Depotcontainer Altglas 2,5 m³', volumen_l: 2500, hoehe: 1450, model: 'LDDS75', leerung: { wochentage: [1], uhrzeit: '09:00' }, abfall: 'Altglas' },
};
bins.forEach(([name, where, lon, lat, type, use], i) => {
    const t = binTypes[type];
    const eui = t.model === 'EM310-UDL'
        ? `24E124713C08${(0x4A10 + i * 7).toString(16).toUpperCase()}`
        : `A84041D2E1${(0x83A200 + i * 13).toString(16).toUpperCase()}`;
    const props = {
        stadtbezirk: 'Hagen-Mitte', stadtteil: 'Mittelstadt', kategorie: 'Abfallbehälter',
        betreiber: 'HEB – Hagener Entsorgungsbetrieb', geraet: sensors[t.model].name, devEUI: eui,
        behaeltertyp: t.typ, abfallart: t.abfall, volumen_l: t.volumen_l, behaelterhoehe_mm: t.hoehe,
        frequentierung: use, leerung: t.leerung, warnschwelle_prozent: 80,
    };
    const streams = t.model === 'EM310-UDL'
        ? [ds(`Füllstand ${name}`, `Füllgrad ${where}, aus dem Ultraschallabstand berechnet.`, 'pct', MEAS, t.model, 'fuellstand'),
           battP(name, t.model)]
        : [ds(`Abstand ${name}`, `Abstand vom Deckelsensor zum Füllgut, ${where}; Behälterhöhe ${t.hoehe} mm.`, 'mm', MEAS, t.model, 'abstand'),
           battV(name, t.model)];
    things.push(thing(name, `${t.typ} mit LoRaWAN-Füllstandssensor, ${where}.`,
        `${type === 'papierkorb' ? 'Litter bin' : 'Waste container'} with a LoRaWAN fill-level sensor in Hagen city centre.`,
        props, loc(name, where, lon, lat), streams));
});

// --- 3. Parking -------------------------------------------------------------
const parking = [
    ['Parkplatz Elbersufer', 'Hagen-Mitte', 'Mittelstadt', 7.4797, 51.3553, ['07', '08', '12', '13']],
    ['Parkplatz Springe', 'Hagen-Mitte', 'Mittelstadt', 7.4763, 51.3580, ['03', '04', '21']],
    ['P+R Hauptbahnhof', 'Hagen-Mitte', 'Altenhagen', 7.4589, 51.3636, ['E1', 'E2']],
    ['Parkplatz Freiheitstraße Hohenlimburg', 'Hohenlimburg', 'Hohenlimburg', 7.5752, 51.3528, ['05', '06']],
];
let pi = 0;
for (const [lot, bezirk, teil, lon, lat, bays] of parking) {
    bays.forEach((bay, j) => {
        const name = `Stellplatz ${lot} ${bay}`;
        const eui = `FCD6BD000011${(0x2A40 + pi * 9).toString(16).toUpperCase()}`;
        pi++;
        things.push(thing(name, `Bodensensor auf Stellplatz ${bay}, ${lot}.`,
            `In-ground parking sensor on bay ${bay} of ${lot}, Hagen.`,
            {
                stadtbezirk: bezirk, stadtteil: teil, kategorie: 'Parken', betreiber: 'Stadt Hagen',
                geraet: sensors.TPS110.name, devEUI: eui, parkplatz: lot, stellplatz: bay,
                stellplatzart: j === 0 && lot === 'Parkplatz Springe' ? 'Behindertenparkplatz' : 'PKW',
            },
            loc(name, `${lot}, Stellplatz ${bay}`, +(lon + j * 0.00004).toFixed(5), +(lat + j * 0.00002).toFixed(5)),
            [ds(`Belegung ${lot} ${bay}`, `Belegung des Stellplatzes ${bay} (true = belegt).`, 'bool', TRUTH, 'TPS110', 'belegung')]));
    });
}

// --- 4. Climate and air stations --------------------------------------------
const climate = [
    { name: 'Raumklima Rathaus Hagen, Bürgeramt', model: 'ERS-CO2', bezirk: 'Hagen-Mitte', teil: 'Mittelstadt', lon: 7.4751, lat: 51.3599, aufstellung: 'innen', nutzung: 'buero', hoehe: 106, where: 'im Bürgeramt des Rathauses an der Volme', eui: 'A81758FFFE05A1C3', betreiber: 'Stadt Hagen, Gebäudewirtschaft' },
    { name: 'Raumklima Ricarda-Huch-Gymnasium, Raum 204', model: 'ERS-CO2', bezirk: 'Hagen-Mitte', teil: 'Wehringhausen', lon: 7.4566, lat: 51.3543, aufstellung: 'innen', nutzung: 'schule', hoehe: 120, where: 'in einem Klassenraum des Ricarda-Huch-Gymnasiums', eui: 'A81758FFFE05A1D8', betreiber: 'Stadt Hagen, Gebäudewirtschaft' },
    { name: 'Klimastation Märkischer Ring', model: 'EM500-CO2', bezirk: 'Hagen-Mitte', teil: 'Mittelstadt', lon: 7.4687, lat: 51.3628, aufstellung: 'aussen', nutzung: 'verkehr', hoehe: 104, where: 'am Märkischen Ring (Verkehrs-CO2, klimakommune.digital)', eui: '24E124136B317720', betreiber: 'ENERVIE / Stadt Hagen (klimakommune.digital)' },
    { name: 'Klimastation Hohenlimburg Industriegebiet', model: 'EM500-CO2', bezirk: 'Hohenlimburg', teil: 'Oege', lon: 7.5668, lat: 51.3581, aufstellung: 'aussen', nutzung: 'industrie', hoehe: 120, where: 'im Industriegebiet an der Lenne (Industrie-CO2, klimakommune.digital)', eui: '24E124136B317735', betreiber: 'ENERVIE / Stadt Hagen (klimakommune.digital)' },
    { name: 'Klimastation Boele Marktplatz', model: 'EM500-CO2', bezirk: 'Hagen-Nord', teil: 'Boele', lon: 7.4931, lat: 51.3917, aufstellung: 'aussen', nutzung: 'wohnen', hoehe: 110, where: 'am Marktplatz in Boele', eui: '24E124136B31774A', betreiber: 'ENERVIE / Stadt Hagen (klimakommune.digital)' },
    { name: 'Klimastation FernUniversität Emst', model: 'EM500-CO2', bezirk: 'Hagen-Mitte', teil: 'Emst', lon: 7.4951, lat: 51.3772, aufstellung: 'aussen', nutzung: 'wohnen', hoehe: 245, where: 'auf dem Campus der FernUniversität', eui: '24E124136B31775F', betreiber: 'ENERVIE / Stadt Hagen (klimakommune.digital)' },
];
for (const c of climate) {
    const short = c.name.replace(/^(Raumklima|Klimastation) /, '');
    const streams = [
        ds(`Lufttemperatur ${short}`, `Lufttemperatur ${c.where}.`, 'cel', MEAS, c.model, 'lufttemperatur'),
        ds(`Relative Luftfeuchte ${short}`, `Relative Luftfeuchte ${c.where}.`, 'pct', MEAS, c.model, 'luftfeuchte'),
        ds(`CO2 ${short}`, `CO2-Konzentration ${c.where}.`, 'ppm', MEAS, c.model, 'co2'),
    ];
    if (c.model === 'EM500-CO2') {
        streams.push(ds(`Luftdruck ${short}`, `Luftdruck auf Stationshöhe (${c.hoehe} m ü. NHN) ${c.where}.`, 'hpa', MEAS, c.model, 'luftdruck'));
        streams.push(battP(short, c.model));
    } else {
        streams.push(battV(short, c.model));
    }
    things.push(thing(c.name, `${c.aufstellung === 'innen' ? 'Raumklimasensor' : 'Außenklimastation'} ${c.where} (${sensors[c.model].name}).`,
        c.aufstellung === 'innen' ? 'Indoor climate and CO2 sensor in a public building in Hagen.' : 'Outdoor climate and CO2 station in Hagen.',
        {
            stadtbezirk: c.bezirk, stadtteil: c.teil, kategorie: 'Klima', betreiber: c.betreiber,
            geraet: sensors[c.model].name, devEUI: c.eui, aufstellung: c.aufstellung, nutzung: c.nutzung, hoehe_m: c.hoehe,
        },
        loc(c.name, c.where, c.lon, c.lat), streams));
}

// --- 5. Soil moisture -------------------------------------------------------
const soil = [
    ['Bodenfeuchte Volkspark', 'Hagen-Mitte', 'Mittelstadt', 7.4676, 51.3569, 'Volkspark, Rasenfläche am Theater', 'Rasen', 'A84041000181C3A0'],
    ['Bodenfeuchte Stadtgarten', 'Hagen-Mitte', 'Hochschulviertel', 7.4842, 51.3527, 'Stadtgarten, unter einer Rotbuche', 'Baumscheibe Rotbuche', 'A84041000181C3B5'],
    ['Bodenfeuchte Hohenhof', 'Hagen-Mitte', 'Emst', 7.4958, 51.3463, 'Garten des Hohenhofs (Stirnband)', 'Staudenbeet', 'A84041000181C3C2'],
    ['Bodenfeuchte Straßenbaum Elberfelder Straße', 'Hagen-Mitte', 'Mittelstadt', 7.4701, 51.3599, 'Elberfelder Straße, Baumscheibe einer Platane', 'Straßenbaum Platane', 'A84041000181C3D7'],
];
for (const [name, bezirk, teil, lon, lat, where, flaeche, eui] of soil) {
    const short = name.replace('Bodenfeuchte ', '');
    things.push(thing(name, `Bodenfeuchtesensor in 30 cm Tiefe, ${where} (Dragino LSE01).`,
        'Soil moisture, soil temperature and conductivity sensor in a Hagen park or street tree pit.',
        {
            stadtbezirk: bezirk, stadtteil: teil, kategorie: 'Grünflächen', betreiber: 'WBH – Wirtschaftsbetrieb Hagen',
            geraet: sensors.LSE01.name, devEUI: eui, messtiefe_cm: 30, flaeche, feldkapazitaet_prozent: 38, welkepunkt_prozent: 12,
        },
        loc(name, where, lon, lat),
        [
            ds(`Bodenfeuchte ${short}`, `Volumetrische Bodenfeuchte, ${where}.`, 'pct', MEAS, 'LSE01', 'bodenfeuchte'),
            ds(`Bodentemperatur ${short}`, `Bodentemperatur in 30 cm Tiefe, ${where}.`, 'cel', MEAS, 'LSE01', 'bodentemperatur'),
            ds(`Leitfähigkeit ${short}`, `Elektrische Leitfähigkeit des Bodens, ${where}.`, 'uscm', MEAS, 'LSE01', 'leitfaehigkeit'),
            battV(short, 'LSE01'),
        ]));
}

// --- 6. Rain gauges ---------------------------------------------------------
const rain = [
    ['Regenmesser Dahl', 'Eilpe/Dahl', 'Dahl', 7.5172, 51.3052, 'Dahl, Gelände der Grundschule', 'A: 282,2 l/m² am 14.07.2021', '70B3D57BA0000D05', 240],
    ['Regenmesser Delstern', 'Eilpe/Dahl', 'Delstern', 7.4872, 51.3391, 'Delstern, Betriebshof', 'A: 198,9 l/m² am 14.07.2021', '70B3D57BA0000D0A', 140],
    ['Regenmesser Holthausen', 'Hohenlimburg', 'Holthausen', 7.5948, 51.3641, 'Holthausen, nahe der LANUV-Station', 'LANUV Holthausen: 241 l/m² in 22 h (Juli 2021)', '70B3D57BA0000D13', 250],
    ['Regenmesser Haspe', 'Haspe', 'Haspe', 7.4105, 51.3478, 'Haspe, Dach des Bezirksrathauses', null, '70B3D57BA0000D1C', 160],
];
for (const [name, bezirk, teil, lon, lat, where, history, eui, hoehe] of rain) {
    const short = name.replace('Regenmesser ', '');
    const props = {
        stadtbezirk: bezirk, stadtteil: teil, kategorie: 'Niederschlag', betreiber: 'WBH – Wirtschaftsbetrieb Hagen',
        geraet: sensors['DL-TBRG'].name, devEUI: eui, aufloesung_mm: 0.1, hoehe_m: hoehe,
        starkregenschwellen_mm: { '1h': 15, '6h': 20, unwetter_1h: 25, unwetter_6h: 35 },
    };
    if (history) props.ereignis2021 = history;
    things.push(thing(name, `Kippwaagen-Regenmesser, ${where} (Decentlab DL-TBRG).`,
        'Tipping-bucket rain gauge of the city\'s heavy-rain network.',
        props, loc(name, where, lon, lat),
        [
            ds(`Niederschlag ${short}`, `Niederschlag je Meldeintervall, ${where}.`, 'mm', MEAS, 'DL-TBRG', 'niederschlag'),
            battV(short, 'DL-TBRG'),
        ]));
}

// --- 7. Pedestrian counter --------------------------------------------------
things.push(thing('Passantenzähler Elberfelder Straße',
    'Radar-Personenzähler in der Fußgängerzone Elberfelder Straße (Parametric PCR2); links = Richtung Hauptbahnhof, rechts = Richtung Friedrich-Ebert-Platz.',
    'Radar pedestrian counter in the Elberfelder Straße shopping street.',
    {
        stadtbezirk: 'Hagen-Mitte', stadtteil: 'Mittelstadt', kategorie: 'Frequenz', betreiber: 'HAGENagentur / Stadt Hagen',
        geraet: sensors.PCR2.name, devEUI: '70B3D5E050013A7F', richtungLinks: 'Hauptbahnhof', richtungRechts: 'Friedrich-Ebert-Platz',
    },
    loc('Passantenzähler Elberfelder Straße', 'Elberfelder Straße, Höhe Hausnummer 40', 7.4690, 51.3599),
    [
        ds('Passanten Elberfelder Straße Richtung Friedrich-Ebert-Platz', 'Personen je Meldeintervall, von links nach rechts.', 'count', COUNT, 'PCR2', 'passantenLR'),
        ds('Passanten Elberfelder Straße Richtung Hauptbahnhof', 'Personen je Meldeintervall, von rechts nach links.', 'count', COUNT, 'PCR2', 'passantenRL'),
    ]));

// --- 8. Energy meter --------------------------------------------------------
things.push(thing('Stromzähler Rathaus an der Volme',
    'Impulszähler am Hauptstromzähler des Rathauses an der Volme (Milesight EM300-DI, 1000 Impulse/kWh).',
    'Pulse counter on the main electricity meter of the town hall.',
    {
        stadtbezirk: 'Hagen-Mitte', stadtteil: 'Mittelstadt', kategorie: 'Energie', betreiber: 'Stadt Hagen, Gebäudewirtschaft',
        geraet: sensors['EM300-DI'].name, devEUI: '24E124538C260913', impulse_je_kWh: 1000,
        zaehlerstand_start_kWh: 1843250, grundlast_kW: 45, spitzenlast_kW: 210,
    },
    loc('Rathaus an der Volme', 'Friedrich-Ebert-Platz, Rathaus an der Volme, Technikraum', 7.4749, 51.3598),
    [
        ds('Energie Rathaus an der Volme', 'Zählerstand des Hauptstromzählers (kumuliert).', 'kwh', MEAS, 'EM300-DI', 'energie'),
        ds('Leistung Rathaus an der Volme', 'Mittlere Wirkleistung seit der letzten Meldung.', 'kw', MEAS, 'EM300-DI', 'leistung'),
        battP('Rathaus an der Volme', 'EM300-DI'),
    ]));

// --- 9. Ischeland pond ------------------------------------------------------
things.push(thing('Gewässersensor Ischelandteich',
    'Wassertemperatur im Ischelandteich; erster öffentlicher Einsatz des ENERVIE-LoRaWAN-Netzes (August 2020).',
    'Water temperature in the Ischeland pond, first public use of the ENERVIE LoRaWAN network (2020).',
    {
        stadtbezirk: 'Hagen-Mitte', stadtteil: 'Altenhagen', kategorie: 'Gewässer', betreiber: 'ENERVIE / Stadt Hagen',
        geraet: sensors['DL-PR26'].name, devEUI: '70B3D57BA0000C63', gewaesser: 'Ischelandteich',
    },
    loc('Ischelandteich', 'Ischelandteich, Steg am Nordufer', 7.4822, 51.3648),
    [
        ds('Wassertemperatur Ischelandteich', 'Wassertemperatur in 50 cm Tiefe.', 'cel', MEAS, 'DL-PR26', 'wassertemperatur'),
    ]));

// --- Checks and output ------------------------------------------------------
let nds = 0;
for (const t of things) {
    const [lon, lat] = t.Locations[0].location.coordinates;
    if (!(lon >= 7.35 && lon <= 7.62 && lat >= 51.27 && lat <= 51.43))
        throw new Error(`${t.name}: outside Hagen (${lon}, ${lat})`);
    for (const d of t.Datastreams) {
        if (!sensors[d.Sensor] || !observedProperties[d.ObservedProperty])
            throw new Error(`${t.name}/${d.name}: unknown key`);
        nds++;
    }
}
const names = new Set();
for (const t of things) {
    if (names.has(t.name)) throw new Error(`duplicate Thing name ${t.name}`);
    names.add(t.name);
}

const out = path.join(here, 'hagen.json');
fs.writeFileSync(out, JSON.stringify({ sensors, observedProperties, things }, null, 2) + '\n');
console.log(`${out}: ${Object.keys(sensors).length} sensors, ${Object.keys(observedProperties).length} observed properties, ${things.length} things, ${nds} datastreams`);
