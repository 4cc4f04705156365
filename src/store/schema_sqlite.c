/*
 * schema_sqlite.c - the SQLite schema as a list of migrations.
 *
 * Migration i (1-based) is applied when PRAGMA user_version < i, inside one
 * transaction with the user_version bump.  Never edit a released migration:
 * append a new one.
 *
 * Times are INTEGER microseconds since the epoch (UTC).  JSON-valued
 * properties are stored as compact JSON text.  An Observation's result keeps
 * its JSON type: result_type 0 null, 1 number, 2 string, 3 boolean, 4 object
 * or array (JSON text); numbers are stored as INTEGER or REAL (the column has
 * no affinity), booleans as 0/1.
 *
 * The per-datastream statistics (count, phenomenonTime and resultTime extent,
 * latest observation) are kept by triggers, so every write path - HTTP,
 * MQTT, import, a bulk load in the sqlite3 shell - keeps them right, and the
 * read side never scans observations for them.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>

#include "store/store_int.h"

#define MIN_OF "min"
#define MAX_OF "max"
#include "store/schema_stats.h"

static const char *const migrations[] = {
    /* 1: the SensorThings v1.1 data model */
    "CREATE TABLE things("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL, description TEXT NOT NULL, properties TEXT);"
    "CREATE TABLE locations("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL, description TEXT NOT NULL, encoding_type TEXT NOT NULL,"
    "  location TEXT NOT NULL, properties TEXT,"
    "  gen_feature_id INTEGER);" /* FeatureOfInterest generated from it */
    "CREATE TABLE thing_locations("
    "  thing_id INTEGER NOT NULL, location_id INTEGER NOT NULL,"
    "  PRIMARY KEY(thing_id, location_id)) WITHOUT ROWID;"
    "CREATE INDEX thing_locations_by_location ON thing_locations(location_id, thing_id);"
    "CREATE TABLE historical_locations("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  thing_id INTEGER NOT NULL, time INTEGER NOT NULL);"
    "CREATE INDEX historical_locations_by_thing ON historical_locations(thing_id, time);"
    "CREATE TABLE location_historical_locations("
    "  historical_location_id INTEGER NOT NULL, location_id INTEGER NOT NULL,"
    "  PRIMARY KEY(historical_location_id, location_id)) WITHOUT ROWID;"
    "CREATE INDEX location_historical_locations_by_location"
    "  ON location_historical_locations(location_id, historical_location_id);"
    "CREATE TABLE sensors("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL, description TEXT NOT NULL, encoding_type TEXT NOT NULL,"
    "  metadata TEXT NOT NULL, properties TEXT);"
    "CREATE TABLE observed_properties("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL, definition TEXT NOT NULL, description TEXT NOT NULL,"
    "  properties TEXT);"
    "CREATE TABLE datastreams("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL, description TEXT NOT NULL, observation_type TEXT NOT NULL,"
    "  unit_of_measurement TEXT NOT NULL, observed_area TEXT, properties TEXT,"
    "  thing_id INTEGER NOT NULL, sensor_id INTEGER NOT NULL,"
    "  observed_property_id INTEGER NOT NULL,"
    "  phen_start INTEGER, phen_end INTEGER, result_start INTEGER, result_end INTEGER,"
    "  obs_count INTEGER NOT NULL DEFAULT 0, last_obs_id INTEGER, last_phen INTEGER);"
    "CREATE INDEX datastreams_by_thing ON datastreams(thing_id);"
    "CREATE INDEX datastreams_by_sensor ON datastreams(sensor_id);"
    "CREATE INDEX datastreams_by_observed_property ON datastreams(observed_property_id);"
    "CREATE TABLE multi_datastreams("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL, description TEXT NOT NULL, observation_type TEXT NOT NULL,"
    "  unit_of_measurements TEXT NOT NULL, multi_observation_data_types TEXT NOT NULL,"
    "  observed_area TEXT, properties TEXT,"
    "  thing_id INTEGER NOT NULL, sensor_id INTEGER NOT NULL,"
    "  phen_start INTEGER, phen_end INTEGER, result_start INTEGER, result_end INTEGER,"
    "  obs_count INTEGER NOT NULL DEFAULT 0, last_obs_id INTEGER, last_phen INTEGER);"
    "CREATE INDEX multi_datastreams_by_thing ON multi_datastreams(thing_id);"
    "CREATE INDEX multi_datastreams_by_sensor ON multi_datastreams(sensor_id);"
    "CREATE TABLE multi_datastream_observed_properties("
    "  multi_datastream_id INTEGER NOT NULL, rank INTEGER NOT NULL,"
    "  observed_property_id INTEGER NOT NULL,"
    "  PRIMARY KEY(multi_datastream_id, rank)) WITHOUT ROWID;"
    "CREATE INDEX mdop_by_observed_property"
    "  ON multi_datastream_observed_properties(observed_property_id, multi_datastream_id);"
    "CREATE TABLE features("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL, description TEXT NOT NULL, encoding_type TEXT NOT NULL,"
    "  feature TEXT NOT NULL, properties TEXT);"
    "CREATE TABLE observations("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  datastream_id INTEGER, multi_datastream_id INTEGER, feature_id INTEGER NOT NULL,"
    "  phen_start INTEGER NOT NULL, phen_end INTEGER, result_time INTEGER,"
    "  result, result_type INTEGER NOT NULL, result_quality TEXT,"
    "  valid_start INTEGER, valid_end INTEGER, parameters TEXT);"
    "CREATE INDEX observations_by_datastream ON observations(datastream_id, phen_start, id);"
    "CREATE INDEX observations_by_multi_datastream"
    "  ON observations(multi_datastream_id, phen_start, id)"
    "  WHERE multi_datastream_id IS NOT NULL;" /* most observations have none */
    "CREATE INDEX observations_by_feature ON observations(feature_id, phen_start, id);"
    "CREATE INDEX observations_by_phen ON observations(phen_start, id);"
    /* Statistics on insert: O(1). */
    "CREATE TRIGGER observations_ai AFTER INSERT ON observations"
    "  WHEN NEW.datastream_id IS NOT NULL BEGIN"
    STATS_ADD("datastreams", "datastream_id")
    " END;"
    "CREATE TRIGGER observations_ai_mds AFTER INSERT ON observations"
    "  WHEN NEW.multi_datastream_id IS NOT NULL BEGIN"
    STATS_ADD("multi_datastreams", "multi_datastream_id")
    " END;",

    /* 2: statistics on delete and update.  The count moves by one; an
     * extent or the latest observation is looked up again (through the
     * indexes, or a scan of that stream when an interval end is involved)
     * only when the removed row was on its boundary. */
    STATS_DELETE_TRIGGER("datastreams", "datastream_id", "ds")
    STATS_DELETE_TRIGGER("multi_datastreams", "multi_datastream_id", "mds")
    "CREATE TRIGGER observations_au AFTER UPDATE OF datastream_id, multi_datastream_id,"
    "  phen_start, phen_end, result_time ON observations BEGIN"
    STATS_REMOVE("datastreams", "datastream_id")
    STATS_REMOVE("multi_datastreams", "multi_datastream_id")
    STATS_ADD("datastreams", "datastream_id")
    STATS_ADD("multi_datastreams", "multi_datastream_id")
    " END;",

    /* 3: the dead-letter store: messages that could not be stored (an
     * invalid Observation received over MQTT, later an undecodable
     * uplink), kept with the reason so that nothing is lost silently.
     * time is microseconds since the epoch; payload is the raw bytes. */
    "CREATE TABLE dead_letters("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time INTEGER NOT NULL, source TEXT NOT NULL, topic TEXT,"
    "  payload BLOB NOT NULL, reason TEXT NOT NULL, replayed_at INTEGER);",

    /* 4: the LoRaWAN device registry (devices.c) and the de-duplication
     * memory of uplinks: DevEUI + frame counter, stored once.  mapping is
     * the JSON object field -> {"datastream": id, ...} as normalised on
     * registration; created/updated/received are microseconds. */
    "CREATE TABLE devices("
    "  dev_eui TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL, thing_id INTEGER,"
    "  decoder TEXT NOT NULL, decoder_spec TEXT,"
    "  use_ns_decoded INTEGER NOT NULL DEFAULT 0,"
    "  mapping TEXT NOT NULL,"
    "  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE uplinks_seen("
    "  dev_eui TEXT NOT NULL, f_cnt INTEGER NOT NULL, received INTEGER NOT NULL,"
    "  PRIMARY KEY(dev_eui, f_cnt)) WITHOUT ROWID;",
};

int store_sqlite_migration_count(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

const char *store_sqlite_migration(int i)
{
    return (i >= 1 && i <= store_sqlite_migration_count()) ? migrations[i - 1] : NULL;
}
