/*
 * demo_int.h - private to app/demo.c and tests/unit/test_demo.c: the pieces of
 * the Hagen simulator that the unit test drives directly.
 *
 * Simulated time is a double, seconds since 1970-01-01T00:00:00Z.  The
 * weather (rain, air temperature, humidity, pressure) is a pure function of
 * time and a 64-bit seed.  Everything with memory (a stream's reservoirs, a
 * bin's fill level, a parking bay, soil water, a meter reading, a battery)
 * lives in a DemoSite, one per Thing, advanced by demo_site_step() and read by
 * demo_site_value().  Given the same seed, the same Things and the same
 * sequence of calls, every value is the same: randomness comes only from the
 * small generator below, never from rand() or the clock.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_DEMO_INT_H
#define KLAMMER_DEMO_INT_H

#include <jansson.h>
#include <stdint.h>

#include "app/demo.h"

/* ---- Random numbers: splitmix64 --------------------------------------------- */

typedef struct DemoRng {
    uint64_t s; /* state; any value is valid */
} DemoRng;

/* Seeds r; equal seeds give equal sequences. */
void demo_rng_seed(DemoRng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t demo_rng_next(DemoRng *r);

/* Uniform double in [0, 1). */
double demo_rng_uniform(DemoRng *r);

/* Standard normal deviate (Box-Muller). */
double demo_rng_normal(DemoRng *r);

/* Mixes a and b into one well-distributed 64-bit value (pure). */
uint64_t demo_hash(uint64_t a, uint64_t b);

/* ---- Calendar: civil time in Hagen (CET, CEST from the last Sunday of March
 *      01:00 UTC to the last Sunday of October 01:00 UTC) -------------------- */

typedef struct DemoLocal {
    double hour; /* local time of day, 0 <= hour < 24 */
    int wday;    /* ISO weekday, 1 = Monday .. 7 = Sunday */
    int yday;    /* day of the year, 0 = 1 January */
    int summer;  /* 1 while daylight saving time applies */
} DemoLocal;

/* Writes the local civil time of instant t to *out. */
void demo_local_time(double t, DemoLocal *out);

/*
 * Formats t as "YYYY-MM-DDTHH:MM:SS.sssZ" into out (at least 32 bytes).
 * Returns the length.
 */
size_t demo_format_time(double t, char *out, size_t size);

/* ---- Weather: pure functions of (seed, t) ----------------------------------- */

#define DEMO_RAIN_SLOT_S 21600.0   /* one rain event at most per 6 h slot */
#define DEMO_DESIGN_PEAK_MM_H 16.0 /* heavy events are scaled against this */
#define DEMO_DESIGN_DURATION_S 5400.0

typedef struct DemoRainEvent {
    double start; /* instant the rain begins */
    double end;   /* instant it stops */
    double peak;  /* intensity at the middle, mm/h; the shape is sin^2 */
    int heavy;    /* 1 for the convective storm that floods small streams */
} DemoRainEvent;

/*
 * Writes the rain event of 6-hour slot n (slot n covers
 * [n * DEMO_RAIN_SLOT_S, (n + 1) * DEMO_RAIN_SLOT_S)) and returns 1, or
 * returns 0 when the slot stays dry.  Every sixth slot holds a heavy event
 * (16-21 mm/h peak for 1.5 h); about two thirds of the others hold light or
 * moderate rain.  An event never leaves its slot.
 */
int demo_rain_event(uint64_t seed, int64_t n, DemoRainEvent *ev);

/* City-wide rain intensity at t, mm/h. */
double demo_rain_rate(uint64_t seed, double t);

/* City-wide rain amount in [t0, t1], mm (exact integral of demo_rain_rate). */
double demo_rain_amount(uint64_t seed, double t0, double t1);

/* Outdoor air temperature at t, degrees Celsius: season, a daily cycle (cold
 * morning, warm afternoon), passing weather systems, cooling by rain. */
double demo_air_temp(uint64_t seed, double t);

/* Outdoor relative humidity at t, percent (high at night and in rain). */
double demo_humidity(uint64_t seed, double t);

/* Station air pressure at t for a station altitude_m above sea level, hPa. */
double demo_pressure(uint64_t seed, double t, double altitude_m);

/* ---- Value models --------------------------------------------------------- */

typedef enum DemoModel {
    DEMO_M_NONE,          /* not simulated */
    DEMO_M_WATER_LEVEL,   /* base unit m */
    DEMO_M_WATER_TEMP,    /* Cel */
    DEMO_M_AIR_TEMP,      /* Cel; indoor or outdoor by the Thing */
    DEMO_M_HUMIDITY,      /* % */
    DEMO_M_CO2,           /* [ppm] */
    DEMO_M_PRESSURE,      /* hPa */
    DEMO_M_RAIN,          /* mm since the previous report, 0.1 mm tips */
    DEMO_M_FILL,          /* % of the bin */
    DEMO_M_FILL_HEIGHT,   /* mm of contents */
    DEMO_M_DISTANCE,      /* mm from the lid sensor to the contents */
    DEMO_M_OCCUPANCY,     /* boolean */
    DEMO_M_PEOPLE_LR,     /* count since the previous report, left to right */
    DEMO_M_PEOPLE_RL,     /* count since the previous report, right to left */
    DEMO_M_SOIL_MOISTURE, /* % volumetric */
    DEMO_M_SOIL_TEMP,     /* Cel */
    DEMO_M_SOIL_EC,       /* uS/cm */
    DEMO_M_BATTERY,       /* % state of charge, or V / mV by the unit */
    DEMO_M_ENERGY,        /* kW.h, cumulative meter reading */
    DEMO_M_POWER,         /* kW, mean since the previous report */
    DEMO_M__COUNT
} DemoModel;

/* Short lower-case name of m ("water_level"), for messages and tests. */
const char *demo_model_name(DemoModel m);

/*
 * Chooses the model for a datastream from its ObservedProperty name (may be
 * NULL), its own name (may be NULL) and its unit symbol (may be NULL), e.g.
 * "Wasserstand" -> DEMO_M_WATER_LEVEL, "Füllstand" with "%" -> DEMO_M_FILL.
 * Returns DEMO_M_NONE when nothing fits or the unit does not suit the model.
 */
DemoModel demo_model_classify(const char *op_name, const char *ds_name, const char *unit);

typedef enum DemoUse {
    DEMO_USE_NONE,     /* unknown */
    DEMO_USE_OFFICE,   /* "buero" */
    DEMO_USE_SCHOOL,   /* "schule" */
    DEMO_USE_TRAFFIC,  /* "verkehr" */
    DEMO_USE_INDUSTRY, /* "industrie" */
    DEMO_USE_HOMES     /* "wohnen" */
} DemoUse;

/* One Thing's simulated device and its surroundings. */
typedef struct DemoSite {
    long thing_id; /* @iot.id of the Thing */
    DemoRng rng;   /* this site's noise, seeded from seed and thing_id */
    /* parameters, from the Thing's properties (defaults when absent) */
    double altitude_m;       /* hoehe_m */
    int indoor;              /* aufstellung == "innen" */
    DemoUse use;             /* nutzung */
    int pond;                /* gewaesser is a pond: larger daily water-temperature swing */
    double mean_level_m;     /* mittelwasser_m */
    double flood_level_m;    /* ersteHochwassermarke_m */
    double catchment_km2;    /* einzugsgebiet_km2 */
    double k1_h, k2_h;       /* time constants of the two linear reservoirs, h */
    double k_slow_h;         /* time constant of the slow (base-flow) reservoir, h */
    double amplitude;        /* share of city rain that reaches the gauge's catchment */
    double norm_fast;        /* peak fast outflow for the design storm, mm/h */
    double norm_slow;        /* peak slow outflow for the design storm, mm/h */
    double rain_factor;      /* local multiplier of the city-wide rain */
    double bin_height_mm;    /* behaelterhoehe_mm */
    double fill_rate;        /* fill gain, % per hour of full use */
    int empty_days;          /* bit d set: emptied on ISO weekday d (1..7) */
    double empty_hour;       /* local time of emptying, hours */
    double field_capacity;   /* feldkapazitaet_prozent */
    double wilting_point;    /* welkepunkt_prozent */
    int street_tree;         /* flaeche mentions a street tree: de-icing salt in winter */
    int commuter;            /* parking used by commuters (P+R) */
    double parking_demand;   /* peak occupancy probability */
    double base_kw, peak_kw; /* meter: base and peak load */
    double battery_drain;    /* state of charge lost per day */
    /* state */
    double t;                    /* instant the state refers to; < 0 before the first step */
    double s1, s2, s_slow;       /* reservoir storages, mm */
    double fill;                 /* bin fill, % */
    int occupied;                /* parking bay */
    double soil;                 /* volumetric soil moisture, % */
    double energy_kwh;           /* meter reading */
    double rain_acc;             /* rain not yet reported, mm */
    double people_lr, people_rl; /* pedestrians not yet reported */
    double energy_acc, time_acc; /* kWh and seconds since the last power report */
    double battery;              /* state of charge, 0..1 */
} DemoSite;

/*
 * Initialises s for the Thing thing_id with properties props (a JSON object,
 * may be NULL) at instant t0.  Never fails: missing properties get defaults.
 */
void demo_site_init(DemoSite *s, long thing_id, const json_t *props, uint64_t seed, double t0);

/* Advances s to instant t (no-op if t <= s->t), in steps of at most 5 minutes. */
void demo_site_step(DemoSite *s, uint64_t seed, double t);

/*
 * The reading of model m at s's current instant, converted to the unit with
 * UCUM symbol unit and rounded to the device's resolution.  Models that
 * report "since the previous report" (rain, people, power) consume what they
 * report.  Returns 0 and writes *out (booleans as 0/1), or -1 when unit does
 * not fit m.
 */
int demo_site_value(DemoSite *s, DemoModel m, const char *unit, uint64_t seed, double *out);

/* Water level of a gauge site at its current instant, metres, without noise. */
double demo_site_level(const DemoSite *s);

/* ---- The simulator without its thread ------------------------------------- */

/*
 * Lists every datastream through api (following @iot.nextLink), and builds a
 * simulator whose state starts at simulated instant t0.  Returns NULL with
 * detail in err when the listing fails.  Free with demo_sim_free().
 */
DemoSim *demo_sim_new(const DemoApi *api, uint64_t seed, double t0, Err *err);

/*
 * Advances every site to simulated instant t and posts one observation per
 * simulated datastream.  Returns the number of observations the server
 * accepted (status 201); failures are counted, not fatal.
 */
int demo_sim_tick(DemoSim *sim, double t);

/* As demo_sim_tick, with observations stamped at stamp instead of t. */
int demo_sim_tick_at(DemoSim *sim, double t, double stamp);

/* Number of datastreams sim posts to (those with a model). */
size_t demo_sim_stream_count(const DemoSim *sim);

/* Number of datastreams listed, with or without a model. */
size_t demo_sim_listed_count(const DemoSim *sim);

/* Frees sim (must not be running a thread); accepts NULL. */
void demo_sim_free(DemoSim *sim);

#endif
