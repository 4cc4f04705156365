/*
 * demo.c - the Hagen demo: seeds the sensor network of demo/hagen.json and
 * runs a simulator thread that keeps posting plausible observations.
 *
 * Both go through DemoApi.request only, so every demo write takes the same
 * path as a client's POST.  The weather is a pure function of simulated time
 * and a seed; each Thing's device state (reservoirs of a stream, a bin's fill,
 * a parking bay, soil water, a meter, a battery) is a DemoSite advanced in
 * steps of at most five simulated minutes.  The simulator logs one line when
 * it starts and one when it stops (with the first refused observation).
 * demo_int.h declares the pieces the unit test drives directly.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "app/demo.h"
#include "app/demo_int.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEMO_SEED 0x4b4c414d4d455221ULL /* "KLAMMER!" */
#define HOUR 3600.0
#define DAY 86400.0
#define STEP_MAX_S 300.0     /* longest state step, simulated seconds */
#define WARMUP_S (8.0 * DAY) /* state history simulated before t0: a weekly bin cycle */
#define WARMUP_STEP_S 900.0  /* coarser steps while warming up */
#define LIST_PAGES_MAX 1000  /* @iot.nextLink pages followed at most */
#define PI 3.14159265358979323846

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ========================================================================== */
/* Random numbers                                                             */
/* ========================================================================== */

void demo_rng_seed(DemoRng *r, uint64_t seed)
{
    r->s = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): tiny, fast, passes BigCrush. */
uint64_t demo_rng_next(DemoRng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double demo_rng_uniform(DemoRng *r)
{
    return (double)(demo_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double demo_rng_normal(DemoRng *r)
{
    double u1 = demo_rng_uniform(r), u2 = demo_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

uint64_t demo_hash(uint64_t a, uint64_t b)
{
    DemoRng r = {a ^ (b * 0xd6e8feb86659fd93ULL)};
    demo_rng_next(&r);
    return demo_rng_next(&r);
}

/* Uniform [0, 1) derived from (seed, k) without state. */
static double hash_uniform(uint64_t seed, uint64_t k)
{
    return (double)(demo_hash(seed, k) >> 11) * (1.0 / 9007199254740992.0);
}

/* ========================================================================== */
/* Calendar                                                                   */
/* ========================================================================== */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Instant of the EU daylight-saving switch in month (3 or 10) of year y:
 * the last Sunday of the month, 01:00 UTC (Directive 2000/84/EC). */
static double dst_switch(int64_t y, int month)
{
    int64_t d = days_from_civil(y, month, 31);
    int wday = (int)(((d % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    return (double)(d - wday) * DAY + HOUR;
}

void demo_local_time(double t, DemoLocal *out)
{
    time_t s = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&s, &tm);
    int64_t y = (int64_t)tm.tm_year + 1900;
    int summer = t >= dst_switch(y, 3) && t < dst_switch(y, 10);
    double lt = t + (summer ? 2.0 * HOUR : HOUR);
    time_t ls = (time_t)floor(lt);
    gmtime_r(&ls, &tm);
    out->hour = tm.tm_hour + tm.tm_min / 60.0 + (tm.tm_sec + (lt - floor(lt))) / HOUR;
    out->wday = tm.tm_wday == 0 ? 7 : tm.tm_wday;
    out->yday = tm.tm_yday;
    out->summer = summer;
}

size_t demo_format_time(double t, char *out, size_t size)
{
    double whole = floor(t);
    time_t s = (time_t)whole;
    struct tm tm;
    gmtime_r(&s, &tm);
    int ms = (int)((t - whole) * 1000.0);
    if (ms > 999)
        ms = 999;
    int n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return n < 0 ? 0 : (size_t)n;
}

/* ========================================================================== */
/* Weather                                                                    */
/* ========================================================================== */

int demo_rain_event(uint64_t seed, int64_t n, DemoRainEvent *ev)
{
    DemoRng r;
    demo_rng_seed(&r, demo_hash(seed, (uint64_t)n));
    /* Draw every number in a fixed order so that the branches cannot shift them. */
    double u_wet = demo_rng_uniform(&r), u_dur = demo_rng_uniform(&r);
    double u_peak = demo_rng_uniform(&r), u_start = demo_rng_uniform(&r);
    int64_t phase = (int64_t)(seed % 8);
    int heavy = (((n % 8) + 8 + phase) % 8) == 0;
    double dur, peak;
    if (heavy) {
        dur = DEMO_DESIGN_DURATION_S;
        peak = DEMO_DESIGN_PEAK_MM_H * (1.0 + 0.3 * u_peak);
    } else {
        if (u_wet >= 0.55)
            return 0;
        dur = 1800.0 + 7200.0 * u_dur;
        peak = 0.6 + 3.4 * u_peak * u_peak;
    }
    ev->start = (double)n * DEMO_RAIN_SLOT_S + u_start * (DEMO_RAIN_SLOT_S - dur);
    ev->end = ev->start + dur;
    ev->peak = peak;
    ev->heavy = heavy;
    return 1;
}

/* Rain of ev in [a, b], mm: the integral of peak * sin^2(pi x / D). */
static double event_amount(const DemoRainEvent *ev, double a, double b)
{
    a = a < ev->start ? ev->start : a;
    b = b > ev->end ? ev->end : b;
    if (b <= a)
        return 0.0;
    double d = ev->end - ev->start, x0 = a - ev->start, x1 = b - ev->start;
    double f0 = x0 / 2.0 - d / (4.0 * PI) * sin(2.0 * PI * x0 / d);
    double f1 = x1 / 2.0 - d / (4.0 * PI) * sin(2.0 * PI * x1 / d);
    return ev->peak / HOUR * (f1 - f0);
}

double demo_rain_rate(uint64_t seed, double t)
{
    DemoRainEvent ev;
    if (!demo_rain_event(seed, (int64_t)floor(t / DEMO_RAIN_SLOT_S), &ev))
        return 0.0;
    if (t < ev.start || t >= ev.end)
        return 0.0;
    double s = sin(PI * (t - ev.start) / (ev.end - ev.start));
    return ev.peak * s * s;
}

double demo_rain_amount(uint64_t seed, double t0, double t1)
{
    double sum = 0.0;
    if (t1 <= t0)
        return 0.0;
    int64_t n0 = (int64_t)floor(t0 / DEMO_RAIN_SLOT_S), n1 = (int64_t)floor(t1 / DEMO_RAIN_SLOT_S);
    for (int64_t n = n0; n <= n1; n++) {
        DemoRainEvent ev;
        if (demo_rain_event(seed, n, &ev))
            sum += event_amount(&ev, t0, t1);
    }
    return sum;
}

/* Seasonal mean air temperature for Hagen: about 2 °C in mid-January,
 * 18 °C in mid-July. */
static double season_mean(int yday)
{
    return 10.0 - 8.0 * cos(2.0 * PI * (yday - 15) / 365.25);
}

/* 0 in mid-January, 1 in mid-July. */
static double summerness(int yday)
{
    return (1.0 - cos(2.0 * PI * (yday - 15) / 365.25)) / 2.0;
}

/* Passing weather systems: a few degrees over days. */
static double synoptic(uint64_t seed, double t)
{
    double p1 = 2.0 * PI * hash_uniform(seed, 101), p2 = 2.0 * PI * hash_uniform(seed, 102);
    return 3.0 * sin(2.0 * PI * t / (6.3 * DAY) + p1) + 1.5 * sin(2.0 * PI * t / (2.7 * DAY) + p2);
}

/* Daily shape in [-1, 1]: minimum at 06:00 local time, maximum at 15:00. */
static double diurnal(double hour)
{
    if (hour >= 6.0 && hour <= 15.0)
        return -cos(PI * (hour - 6.0) / 9.0);
    double u = fmod(hour - 15.0 + 24.0, 24.0) / 15.0;
    return cos(PI * u);
}

/* How wet the last three hours were, 0..1. */
static double wetness(uint64_t seed, double t)
{
    return clamp(demo_rain_amount(seed, t - 3.0 * HOUR, t) / 4.0, 0.0, 1.0);
}

static double day_amplitude(int yday)
{
    return 2.5 + 3.5 * summerness(yday);
}

double demo_air_temp(uint64_t seed, double t)
{
    DemoLocal lt;
    demo_local_time(t, &lt);
    double wet = wetness(seed, t);
    return season_mean(lt.yday) + synoptic(seed, t) +
           day_amplitude(lt.yday) * diurnal(lt.hour) * (1.0 - 0.5 * wet) - 1.8 * wet;
}

/* Saturation vapour pressure ratio term (Magnus formula, WMO constants). */
static double magnus(double celsius)
{
    return exp(17.62 * celsius / (243.12 + celsius));
}

/* Outdoor dew point: about one degree below the morning minimum, closer to
 * the air temperature after rain (callers cap it at the air temperature). */
static double dew_point(uint64_t seed, double t)
{
    DemoLocal lt;
    demo_local_time(t, &lt);
    double tmin = season_mean(lt.yday) + synoptic(seed, t) - day_amplitude(lt.yday);
    return tmin - 1.0 + 1.5 * wetness(seed, t);
}

double demo_humidity(uint64_t seed, double t)
{
    double ta = demo_air_temp(seed, t), td = dew_point(seed, t);
    if (td > ta)
        td = ta;
    double rh = 100.0 * magnus(td) / magnus(ta);
    double rate = demo_rain_rate(seed, t);
    if (rate > 0.0) {
        double floor_rh = 88.0 + 10.0 * clamp(rate / 2.0, 0.0, 1.0);
        rh = rh < floor_rh ? floor_rh : rh;
    }
    return clamp(rh, 15.0, 100.0);
}

double demo_pressure(uint64_t seed, double t, double altitude_m)
{
    double p3 = 2.0 * PI * hash_uniform(seed, 103), p4 = 2.0 * PI * hash_uniform(seed, 104);
    double msl = 1016.0 + 9.0 * sin(2.0 * PI * t / (5.3 * DAY) + p3) +
                 4.0 * sin(2.0 * PI * t / (1.9 * DAY) + p4) - 5.0 * wetness(seed, t);
    /* Barometric formula with an 8.4 km scale height. */
    return msl * exp(-altitude_m / 8434.0);
}

/* ========================================================================== */
/* Usage profiles: 0..1 by local time                                         */
/* ========================================================================== */

/* Smooth step from 0 at a to 1 at b. */
static double ramp(double x, double a, double b)
{
    if (x <= a)
        return 0.0;
    if (x >= b)
        return 1.0;
    double u = (x - a) / (b - a);
    return u * u * (3.0 - 2.0 * u);
}

/* People present in an office or a school. */
static double occupancy(DemoUse use, const DemoLocal *lt)
{
    double h = lt->hour;
    if (lt->wday > 5)
        return 0.0;
    if (use == DEMO_USE_SCHOOL)
        return ramp(h, 7.5, 8.0) * (1.0 - 0.6 * ramp(h, 13.1, 13.4)) * (1.0 - ramp(h, 15.3, 15.8));
    /* Office and Bürgeramt: arrival 7-9, lunch dip, leaving 16-18. */
    double o = ramp(h, 7.0, 9.0) * (1.0 - ramp(h, 16.0, 18.0));
    if (h > 12.0 && h < 13.3)
        o *= 0.65;
    return o;
}

/* Use of litter bins and containers in the city centre. */
static double bin_use(const DemoLocal *lt)
{
    double h = lt->hour, u;
    if (h < 6.0 || h >= 22.0)
        u = 0.1;
    else if (h < 9.0 || h >= 20.0)
        u = 0.5;
    else
        u = 1.0;
    if (lt->wday == 6)
        u *= 1.3;
    else if (lt->wday == 7)
        u *= 0.8;
    return u;
}

/* Local-time-of-day tables of pedestrians per hour and direction in the
 * Elberfelder Straße (order of magnitude of a mid-size German high street). */
static const double people_weekday[24] = {15,   8,   5,   5,   8,    25,  80,  220,
                                          380,  420, 650, 850, 1000, 950, 900, 950,
                                          1000, 900, 600, 350, 200,  120, 70,  35};
static const double people_saturday[24] = {30,   15,  10,   5,    5,    10,   30,   90,
                                           250,  600, 1100, 1500, 1650, 1600, 1500, 1400,
                                           1200, 800, 450,  300,  200,  140,  90,   50};
static const double people_sunday[24] = {40,  25,  15,  10,  5,   5,   10,  20,  40, 80, 120, 180,
                                         220, 250, 260, 250, 220, 180, 140, 100, 70, 50, 30,  20};

static double people_rate(const DemoLocal *lt)
{
    const double *tab = lt->wday == 7   ? people_sunday
                        : lt->wday == 6 ? people_saturday
                                        : people_weekday;
    int h0 = (int)lt->hour % 24, h1 = (h0 + 1) % 24;
    double f = lt->hour - floor(lt->hour);
    return tab[h0] * (1.0 - f) + tab[h1] * f;
}

/* Probability that a bay in the lot is taken. */
static double parking_share(const DemoSite *s, const DemoLocal *lt)
{
    double h = lt->hour, p;
    if (s->commuter) {
        if (lt->wday > 5)
            return 0.2;
        p = 0.15 + 0.75 * ramp(h, 6.3, 8.0) * (1.0 - ramp(h, 16.5, 19.0));
        return p;
    }
    if (lt->wday == 7)
        p = 0.15 + 0.15 * ramp(h, 10.0, 13.0) * (1.0 - ramp(h, 17.0, 20.0));
    else if (lt->wday == 6)
        p = 0.15 + 0.8 * ramp(h, 8.0, 10.5) * (1.0 - ramp(h, 16.5, 19.0));
    else
        p = 0.15 + 0.75 * ramp(h, 7.0, 9.5) * (1.0 - 0.3 * ramp(h, 17.5, 19.0)) *
                       (1.0 - ramp(h, 19.0, 22.0));
    return p * s->parking_demand;
}

/* ========================================================================== */
/* Models and units                                                           */
/* ========================================================================== */

static const char *const model_names[DEMO_M__COUNT] = {
    "none",      "water_level", "water_temp", "air_temp",  "humidity",
    "co2",       "pressure",    "rain",       "fill",      "fill_height",
    "distance",  "occupancy",   "people_lr",  "people_rl", "soil_moisture",
    "soil_temp", "soil_ec",     "battery",    "energy",    "power",
};

const char *demo_model_name(DemoModel m)
{
    return (m >= 0 && m < DEMO_M__COUNT) ? model_names[m] : "none";
}

typedef enum UnitClass {
    UC_ANY,     /* booleans and counts: any symbol */
    UC_METRE,   /* base m */
    UC_MM,      /* base mm */
    UC_CELSIUS, /* base Cel */
    UC_PERCENT, /* base % */
    UC_PPM,     /* base [ppm] */
    UC_HPA,     /* base hPa */
    UC_USCM,    /* base uS/cm */
    UC_KWH,     /* base kW.h */
    UC_KW,      /* base kW */
    UC_BATTERY  /* base: state of charge; % or V or mV */
} UnitClass;

static const struct {
    UnitClass cls;
    const char *symbol;
    double factor, offset;
} unit_table[] = {
    {UC_METRE, "m", 1, 0},      {UC_METRE, "cm", 100, 0},     {UC_METRE, "mm", 1000, 0},
    {UC_MM, "mm", 1, 0},        {UC_MM, "cm", 0.1, 0},        {UC_MM, "m", 0.001, 0},
    {UC_CELSIUS, "Cel", 1, 0},  {UC_CELSIUS, "K", 1, 273.15}, {UC_CELSIUS, "[degF]", 1.8, 32},
    {UC_PERCENT, "%", 1, 0},    {UC_PPM, "[ppm]", 1, 0},      {UC_PPM, "ppm", 1, 0},
    {UC_PPM, "[ppb]", 1000, 0}, {UC_HPA, "hPa", 1, 0},        {UC_HPA, "Pa", 100, 0},
    {UC_HPA, "kPa", 0.1, 0},    {UC_HPA, "mbar", 1, 0},       {UC_HPA, "bar", 0.001, 0},
    {UC_USCM, "uS/cm", 1, 0},   {UC_USCM, "mS/cm", 0.001, 0}, {UC_USCM, "mS/m", 0.1, 0},
    {UC_KWH, "kW.h", 1, 0},     {UC_KWH, "kWh", 1, 0},        {UC_KWH, "W.h", 1000, 0},
    {UC_KWH, "MW.h", 0.001, 0}, {UC_KW, "kW", 1, 0},          {UC_KW, "W", 1000, 0},
    {UC_BATTERY, "%", 1, 0},    {UC_BATTERY, "V", 1, 0},      {UC_BATTERY, "mV", 1, 0},
};

static const struct {
    UnitClass cls;
    double resolution; /* in the base unit */
} model_units[DEMO_M__COUNT] = {
    [DEMO_M_NONE] = {UC_ANY, 1},
    [DEMO_M_WATER_LEVEL] = {UC_METRE, 0.001},
    [DEMO_M_WATER_TEMP] = {UC_CELSIUS, 0.01},
    [DEMO_M_AIR_TEMP] = {UC_CELSIUS, 0.1},
    [DEMO_M_HUMIDITY] = {UC_PERCENT, 0.5},
    [DEMO_M_CO2] = {UC_PPM, 1},
    [DEMO_M_PRESSURE] = {UC_HPA, 0.1},
    [DEMO_M_RAIN] = {UC_MM, 0.1},
    [DEMO_M_FILL] = {UC_PERCENT, 0.1},
    [DEMO_M_FILL_HEIGHT] = {UC_MM, 1},
    [DEMO_M_DISTANCE] = {UC_MM, 1},
    [DEMO_M_OCCUPANCY] = {UC_ANY, 1},
    [DEMO_M_PEOPLE_LR] = {UC_ANY, 1},
    [DEMO_M_PEOPLE_RL] = {UC_ANY, 1},
    [DEMO_M_SOIL_MOISTURE] = {UC_PERCENT, 0.01},
    [DEMO_M_SOIL_TEMP] = {UC_CELSIUS, 0.01},
    [DEMO_M_SOIL_EC] = {UC_USCM, 1},
    [DEMO_M_BATTERY] = {UC_BATTERY, 1},
    [DEMO_M_ENERGY] = {UC_KWH, 0.001},
    [DEMO_M_POWER] = {UC_KW, 0.01},
};

/* Finds the conversion from m's base unit to unit; -1 when it does not fit. */
static int unit_lookup(DemoModel m, const char *unit, double *factor, double *offset)
{
    UnitClass cls = model_units[m].cls;
    *factor = 1.0;
    *offset = 0.0;
    if (cls == UC_ANY)
        return 0;
    if (!unit)
        return -1;
    for (size_t i = 0; i < sizeof unit_table / sizeof unit_table[0]; i++) {
        if (unit_table[i].cls == cls && strcmp(unit_table[i].symbol, unit) == 0) {
            *factor = unit_table[i].factor;
            *offset = unit_table[i].offset;
            return 0;
        }
    }
    return -1;
}

/* ASCII-lower-cased copy of s into buf (UTF-8 bytes above 0x7f unchanged). */
static void lower(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    buf[i] = '\0';
}

static int has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* The model a name suggests, before the unit is checked. */
static DemoModel classify_name(const char *name, const char *unit)
{
    char s[256];
    if (!name || !*name)
        return DEMO_M_NONE;
    lower(name, s, sizeof s);
    if (has(s, "wassertemp") || has(s, "water temp"))
        return DEMO_M_WATER_TEMP;
    if (has(s, "bodentemp") || has(s, "soil temp"))
        return DEMO_M_SOIL_TEMP;
    if (has(s, "bodenfeuchte") || has(s, "soil moisture"))
        return DEMO_M_SOIL_MOISTURE;
    if (has(s, "leitf\xc3\xa4higkeit") || has(s, "conductivity"))
        return DEMO_M_SOIL_EC;
    if (has(s, "wasserstand") || has(s, "pegelstand") || has(s, "water level"))
        return DEMO_M_WATER_LEVEL;
    if (has(s, "batterie") || has(s, "battery"))
        return DEMO_M_BATTERY;
    if (has(s, "feuchte") || has(s, "humidity"))
        return DEMO_M_HUMIDITY;
    if (has(s, "co2") || has(s, "kohlenstoffdioxid") || has(s, "carbon dioxide"))
        return DEMO_M_CO2;
    if (has(s, "luftdruck") || has(s, "air pressure"))
        return DEMO_M_PRESSURE;
    if (has(s, "niederschlag") || has(s, "regen") || has(s, "precipitation") || has(s, "rain"))
        return DEMO_M_RAIN;
    if (has(s, "abstand") || has(s, "distance"))
        return DEMO_M_DISTANCE;
    if (has(s, "f\xc3\xbcllstand") || has(s, "fuellstand") || has(s, "fill"))
        return unit && strcmp(unit, "%") == 0 ? DEMO_M_FILL : DEMO_M_FILL_HEIGHT;
    if (has(s, "belegung") || has(s, "occup"))
        return DEMO_M_OCCUPANCY;
    if (has(s, "passant") || has(s, "pedestrian") || has(s, "personen"))
        return (has(s, "rechts nach links") || has(s, "right to left")) ? DEMO_M_PEOPLE_RL
                                                                        : DEMO_M_PEOPLE_LR;
    if (has(s, "energie") || has(s, "energy"))
        return DEMO_M_ENERGY;
    if (has(s, "leistung") || has(s, "power"))
        return DEMO_M_POWER;
    if (has(s, "temperatur"))
        return DEMO_M_AIR_TEMP;
    return DEMO_M_NONE;
}

DemoModel demo_model_classify(const char *op_name, const char *ds_name, const char *unit)
{
    double factor, offset;
    DemoModel m = classify_name(op_name, unit);
    if (m == DEMO_M_NONE)
        m = classify_name(ds_name, unit);
    if (m == DEMO_M_NONE || unit_lookup(m, unit, &factor, &offset) != 0)
        return DEMO_M_NONE;
    return m;
}

/* ========================================================================== */
/* Sites                                                                      */
/* ========================================================================== */

static double prop_num(const json_t *props, const char *key, double dflt)
{
    const json_t *v = props ? json_object_get(props, key) : NULL;
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static const char *prop_str(const json_t *props, const char *key)
{
    const json_t *v = props ? json_object_get(props, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : "";
}

/* One reservoir over h hours with constant inflow p (mm/h), exact for a
 * linear reservoir dS/dt = p - S/k.  Returns the mean outflow. */
static double reservoir(double *s, double p, double k, double h)
{
    double before = *s;
    *s = p * k + (before - p * k) * exp(-h / k);
    return p - (*s - before) / h;
}

/* Runs the two-reservoir cascade and the slow reservoir through the design
 * storm and records their peak outflows, the 1.0 of the normalised response. */
static void design_norm(DemoSite *s)
{
    DemoRainEvent ev = {0.0, DEMO_DESIGN_DURATION_S, DEMO_DESIGN_PEAK_MM_H, 1};
    double s1 = 0, s2 = 0, slow = 0, peak_fast = 1e-9, peak_slow = 1e-9;
    double h = STEP_MAX_S / HOUR;
    for (double t = 0; t < 4.0 * DAY; t += STEP_MAX_S) {
        double p = event_amount(&ev, t, t + STEP_MAX_S) / h;
        double o1 = reservoir(&s1, p, s->k1_h, h);
        reservoir(&s2, o1, s->k2_h, h);
        reservoir(&slow, p, s->k_slow_h, h);
        peak_fast = fmax(peak_fast, s2 / s->k2_h);
        peak_slow = fmax(peak_slow, slow / s->k_slow_h);
    }
    s->norm_fast = peak_fast;
    s->norm_slow = peak_slow;
}

static void parse_schedule(DemoSite *s, const json_t *props)
{
    const json_t *sched = props ? json_object_get(props, "leerung") : NULL;
    const json_t *days = sched ? json_object_get(sched, "wochentage") : NULL;
    const json_t *at = sched ? json_object_get(sched, "uhrzeit") : NULL;
    size_t i;
    json_t *d;
    s->empty_days = 0;
    json_array_foreach (days, i, d) {
        json_int_t w = json_is_integer(d) ? json_integer_value(d) : 0;
        if (w >= 1 && w <= 7)
            s->empty_days |= 1 << w;
    }
    if (s->empty_days == 0)
        s->empty_days = 1 << 1 | 1 << 4; /* Monday and Thursday */
    int hh = 6, mm = 30;
    if (json_is_string(at))
        sscanf(json_string_value(at), "%d:%d", &hh, &mm);
    s->empty_hour = clamp(hh + mm / 60.0, 0.0, 23.9);
}

static void step_to(DemoSite *s, uint64_t seed, double t, double max_step);

void demo_site_init(DemoSite *s, long thing_id, const json_t *props, uint64_t seed, double t0)
{
    memset(s, 0, sizeof *s);
    s->thing_id = thing_id;
    demo_rng_seed(&s->rng, demo_hash(seed, (uint64_t)thing_id));
    DemoRng *r = &s->rng;

    s->altitude_m = prop_num(props, "hoehe_m", 110.0);
    s->indoor = strcmp(prop_str(props, "aufstellung"), "innen") == 0;
    const char *use = prop_str(props, "nutzung");
    s->use = !strcmp(use, "buero")       ? DEMO_USE_OFFICE
             : !strcmp(use, "schule")    ? DEMO_USE_SCHOOL
             : !strcmp(use, "verkehr")   ? DEMO_USE_TRAFFIC
             : !strcmp(use, "industrie") ? DEMO_USE_INDUSTRY
             : !strcmp(use, "wohnen")    ? DEMO_USE_HOMES
                                         : DEMO_USE_NONE;
    char water[128];
    lower(prop_str(props, "gewaesser"), water, sizeof water);
    s->pond = has(water, "teich") || has(water, "see");

    /* Gauge: larger catchments answer later and, for rain over the city
     * alone, less (the rest of a large catchment stays dry). */
    s->mean_level_m = prop_num(props, "mittelwasser_m", 0.5);
    s->flood_level_m = prop_num(props, "ersteHochwassermarke_m", 3.0 * s->mean_level_m);
    if (s->flood_level_m <= s->mean_level_m)
        s->flood_level_m = s->mean_level_m + 0.5;
    s->catchment_km2 = prop_num(props, "einzugsgebiet_km2", 50.0);
    double a = s->catchment_km2 > 1.0 ? s->catchment_km2 : 1.0;
    s->k1_h = 0.3 + 0.4 * sqrt(a / 100.0);
    s->k2_h = 1.1 * s->k1_h;
    s->k_slow_h = 36.0;
    s->amplitude = a <= 500.0 ? 1.0 : sqrt(500.0 / a);
    design_norm(s);

    /* Rain gauges: upland stations (Dahl, Holthausen) catch more. */
    s->rain_factor = 1.0;
    if (has(prop_str(props, "kategorie"), "Niederschlag"))
        s->rain_factor =
            (0.9 + 0.25 * demo_rng_uniform(r)) * (1.0 + (s->altitude_m - 110.0) / 1000.0);

    /* Bins: the fill rate is chosen so that a bin reaches about its target
     * share by the next emptying, judged between the mean and the longest
     * gap in the schedule (busy bins still overflow over the weekend). */
    s->bin_height_mm = prop_num(props, "behaelterhoehe_mm", 1000.0);
    if (s->bin_height_mm < 400.0)
        s->bin_height_mm = 400.0;
    parse_schedule(s, props);
    const char *freq = prop_str(props, "frequentierung");
    double target = !strcmp(freq, "hoch") ? 95.0 : !strcmp(freq, "gering") ? 50.0 : 75.0;
    int per_week = 0, gap = 0, longest = 0;
    for (int d = 1; d <= 14; d++) {
        int scheduled = (s->empty_days >> ((d - 1) % 7 + 1)) & 1;
        per_week += d <= 7 && scheduled;
        gap = scheduled ? 0 : gap + 1;
        longest = gap > longest ? gap : longest;
    }
    double days = (7.0 / per_week + (longest + 1.0)) / 2.0;
    s->fill_rate = target / (days * 14.3) * (0.85 + 0.3 * demo_rng_uniform(r));

    s->field_capacity = prop_num(props, "feldkapazitaet_prozent", 38.0);
    s->wilting_point = prop_num(props, "welkepunkt_prozent", 12.0);
    if (s->wilting_point >= s->field_capacity)
        s->wilting_point = s->field_capacity / 3.0;
    char area[128];
    lower(prop_str(props, "flaeche"), area, sizeof area);
    s->street_tree = has(area, "stra\xc3\x9f") || has(area, "strass");

    char lot[128];
    lower(prop_str(props, "parkplatz"), lot, sizeof lot);
    s->commuter = has(lot, "p+r") || has(lot, "bahnhof");
    s->parking_demand = has(prop_str(props, "stadtbezirk"), "Mitte") || !*lot ? 1.0 : 0.7;

    s->base_kw = prop_num(props, "grundlast_kW", 40.0);
    s->peak_kw = prop_num(props, "spitzenlast_kW", 4.0 * s->base_kw);
    s->energy_kwh = prop_num(props, "zaehlerstand_start_kWh", 100000.0);

    s->battery_drain = 0.0015 + 0.002 * demo_rng_uniform(r);
    s->battery = 0.55 + 0.43 * demo_rng_uniform(r);

    DemoLocal lt;
    demo_local_time(t0, &lt);
    s->fill = 60.0 * demo_rng_uniform(r);
    s->soil = s->wilting_point +
              (s->field_capacity - s->wilting_point) * (0.45 + 0.35 * (1.0 - summerness(lt.yday)));
    s->occupied = demo_rng_uniform(r) < 0.5;

    /* Warm up: live through the last eight days so that reservoirs, soil and
     * bins start in a state that matches the weather and the emptying
     * schedule, then forget what would
     * otherwise be reported as "since the previous report". */
    s->t = t0 - WARMUP_S;
    step_to(s, seed, t0, WARMUP_STEP_S);
    s->rain_acc = 0.0;
    s->people_lr = s->people_rl = 0.0;
    s->energy_acc = s->time_acc = 0.0;
}

/* Poisson deviate (Knuth for small means, normal approximation above 30). */
static double poisson(DemoRng *r, double mean)
{
    if (mean <= 0.0)
        return 0.0;
    if (mean > 30.0) {
        double k = floor(mean + sqrt(mean) * demo_rng_normal(r) + 0.5);
        return k < 0.0 ? 0.0 : k;
    }
    double l = exp(-mean), p = 1.0;
    int k = 0;
    do {
        k++;
        p *= demo_rng_uniform(r);
    } while (p > l);
    return (double)(k - 1);
}

/* Emptying happens when the local clock passes empty_hour on a scheduled day. */
static int emptied(const DemoSite *s, double a, double b)
{
    DemoLocal la, lb;
    demo_local_time(a, &la);
    demo_local_time(b, &lb);
    int crossed = la.yday == lb.yday ? (la.hour < s->empty_hour && lb.hour >= s->empty_hour)
                                     : (lb.hour >= s->empty_hour || la.hour < s->empty_hour);
    return crossed && ((s->empty_days >> lb.wday) & 1);
}

/* One state step over [a, b], b - a <= STEP_MAX_S. */
static void step_once(DemoSite *s, uint64_t seed, double a, double b)
{
    DemoRng *r = &s->rng;
    double dt = b - a, h = dt / HOUR, mid = (a + b) / 2.0;
    DemoLocal lt;
    demo_local_time(mid, &lt);
    double rain = demo_rain_amount(seed, a, b);
    double p = rain / h;

    /* Stream: two linear reservoirs in series (Nash cascade) for the flood
     * wave, one slow reservoir for base flow. */
    double o1 = reservoir(&s->s1, p, s->k1_h, h);
    reservoir(&s->s2, o1, s->k2_h, h);
    reservoir(&s->s_slow, p, s->k_slow_h, h);

    s->rain_acc += rain * s->rain_factor;

    /* Bin: fills with use and noise; a third of the fill comes as whole bags
     * of about 3 % each. */
    double use = bin_use(&lt);
    s->fill += 0.67 * s->fill_rate * use * h * (0.5 + demo_rng_uniform(r));
    if (demo_rng_uniform(r) < 0.33 * s->fill_rate * use * h / 3.0)
        s->fill += 1.5 + 3.0 * demo_rng_uniform(r);
    if (s->fill > 100.0)
        s->fill = 100.0;
    if (emptied(s, a, b) && demo_rng_uniform(r) >= 0.04) /* 4 %: the truck skipped it */
        s->fill = 0.5 + 3.0 * demo_rng_uniform(r);

    /* Parking bay: a two-state Markov chain whose equilibrium is the lot's
     * occupancy share at this hour; mean stay 1.2 h (6 h for commuters). */
    double share = clamp(parking_share(s, &lt), 0.02, 0.97);
    double mu = 1.0 / (s->commuter ? 6.0 : 1.2), lambda = mu * share / (1.0 - share);
    double decay = exp(-(lambda + mu) * h);
    double p_occ = share + ((s->occupied ? 1.0 : 0.0) - share) * decay;
    s->occupied = demo_rng_uniform(r) < p_occ;

    /* Soil: evapotranspiration by day, infiltration of rain, drainage above
     * field capacity. */
    double et_day = 0.4 + 3.6 * summerness(lt.yday);
    double et = lt.hour > 7.0 && lt.hour < 19.0
                    ? et_day * PI / 24.0 * sin(PI * (lt.hour - 7.0) / 12.0)
                    : 0.0;
    double avail =
        clamp((s->soil - s->wilting_point) / (s->field_capacity - s->wilting_point), 0.0, 1.0);
    s->soil -= et * h / 300.0 * 100.0 * avail;
    s->soil += rain * (s->street_tree ? 0.6 : 0.85) / 300.0 * 100.0;
    if (s->soil > s->field_capacity)
        s->soil -= (s->soil - s->field_capacity) * (1.0 - exp(-h / 10.0));
    s->soil = clamp(s->soil, 0.0, 50.0);

    /* Pedestrians: fewer in rain; mornings towards the Friedrich-Ebert-Platz,
     * evenings back to the station. */
    double rate = people_rate(&lt) * (1.0 - 0.4 * clamp(p / 2.0, 0.0, 1.0));
    double bias = lt.hour < 12.0 ? 0.15 : lt.hour > 15.0 ? -0.15 : 0.0;
    s->people_lr += poisson(r, rate * (1.0 + bias) * h);
    s->people_rl += poisson(r, rate * (1.0 - bias) * h);

    /* Meter: base load, office load, a little more for pumps in winter. */
    double kw = s->base_kw * (1.0 + 0.15 * (1.0 - summerness(lt.yday))) +
                (s->peak_kw - s->base_kw) * occupancy(DEMO_USE_OFFICE, &lt);
    kw *= 1.0 + 0.02 * demo_rng_normal(r);
    if (kw < 0.0)
        kw = 0.0;
    s->energy_kwh += kw * h;
    s->energy_acc += kw * h;
    s->time_acc += dt;

    s->battery -= s->battery_drain * dt / DAY;
    if (s->battery < 0.0)
        s->battery = 0.0;
}

/* Every part of step_once is exact or unbiased for any step below a day; the
 * step length only limits how finely the weather is sampled. */
static void step_to(DemoSite *s, uint64_t seed, double t, double max_step)
{
    while (s->t < t) {
        double b = s->t + max_step < t ? s->t + max_step : t;
        if (b - s->t > 1e-6)
            step_once(s, seed, s->t, b);
        s->t = b;
    }
}

void demo_site_step(DemoSite *s, uint64_t seed, double t)
{
    step_to(s, seed, t, STEP_MAX_S);
}

double demo_site_level(const DemoSite *s)
{
    double fast = s->amplitude * (s->s2 / s->k2_h) / s->norm_fast;
    double slow = s->amplitude * (s->s_slow / s->k_slow_h) / s->norm_slow;
    double base = 0.85 * s->mean_level_m;
    return base + 0.15 * s->mean_level_m * fmin(slow, 4.0) +
           (s->flood_level_m - base) * 1.06 * pow(fmax(fast, 0.0), 1.1);
}

/* Indoor air temperature: heating with night set-back in the cold season,
 * following the outdoors in summer, warmer when people are in. */
static double indoor_temp(const DemoSite *s, uint64_t seed, double t, const DemoLocal *lt)
{
    double out = demo_air_temp(seed, t), occ = occupancy(s->use, lt);
    if (season_mean(lt->yday) < 15.0) {
        double on =
            lt->wday <= 5 ? ramp(lt->hour, 5.5, 7.5) * (1.0 - ramp(lt->hour, 17.0, 21.0)) : 0.0;
        return 18.0 + 3.5 * on + 1.0 * occ + 0.05 * (out - 5.0);
    }
    return 21.0 + 0.35 * (out - 18.0) + 1.2 * occ;
}

static double co2_value(const DemoSite *s, uint64_t seed, double t, const DemoLocal *lt)
{
    double h = lt->hour;
    if (s->indoor) {
        double occ = occupancy(s->use, lt);
        if (s->use == DEMO_USE_SCHOOL) {
            /* Windows open in every break: a saw tooth per 45-minute lesson. */
            double lesson = fmod((h - 8.0) * 60.0, 50.0) / 45.0;
            return 440.0 + occ * (450.0 + 1100.0 * clamp(lesson, 0.0, 1.0));
        }
        return 430.0 + occ * (520.0 + 120.0 * sin(2.0 * PI * h / 3.0));
    }
    double wkday = lt->wday <= 5 ? 1.0 : 0.4;
    double rush = exp(-0.5 * pow((h - 7.75) / 1.0, 2)) + 0.9 * exp(-0.5 * pow((h - 17.0) / 1.3, 2));
    double extra = 0.0;
    switch (s->use) {
    case DEMO_USE_TRAFFIC:
        extra = wkday * (45.0 * rush + 12.0 * ramp(h, 6.0, 8.0) * (1.0 - ramp(h, 20.0, 22.0)));
        break;
    case DEMO_USE_INDUSTRY:
        extra =
            10.0 + (lt->wday <= 5 ? 25.0 * ramp(h, 5.5, 6.5) * (1.0 - ramp(h, 21.5, 22.5)) : 0.0);
        break;
    default:
        extra =
            12.0 * exp(-0.5 * pow((h - 19.0) / 2.5, 2)) + 6.0 * exp(-0.5 * pow((h - 7.0) / 1.5, 2));
        break;
    }
    /* Stable air at night keeps CO2 near the ground; wind and rain clear it. */
    double night = 15.0 * exp(-0.5 * pow((h - 4.0) / 2.0, 2)) * (1.0 - wetness(seed, t));
    double winter = 8.0 * (1.0 - summerness(lt->yday));
    return 418.0 + extra + night + winter;
}

int demo_site_value(DemoSite *s, DemoModel m, const char *unit, uint64_t seed, double *out)
{
    double factor, offset, v = 0.0, t = s->t;
    DemoRng *r = &s->rng;
    DemoLocal lt;
    if (m <= DEMO_M_NONE || m >= DEMO_M__COUNT || unit_lookup(m, unit, &factor, &offset) != 0)
        return -1;
    demo_local_time(t, &lt);
    double res = model_units[m].resolution;

    switch (m) {
    case DEMO_M_WATER_LEVEL:
        v = fmax(0.0, demo_site_level(s) + 0.003 * demo_rng_normal(r));
        break;
    case DEMO_M_WATER_TEMP: {
        double swing = s->pond ? 1.0 : 0.3;
        v = 2.5 + 0.85 * season_mean(lt.yday) + 0.1 * synoptic(seed, t) +
            swing * diurnal(fmod(lt.hour - 2.0 + 24.0, 24.0)) - 0.3 * wetness(seed, t) +
            0.02 * demo_rng_normal(r);
        v = fmax(v, 0.2);
        break;
    }
    case DEMO_M_AIR_TEMP:
        v = s->indoor ? indoor_temp(s, seed, t, &lt) : demo_air_temp(seed, t);
        v += 0.1 * demo_rng_normal(r);
        break;
    case DEMO_M_HUMIDITY:
        if (s->indoor) {
            /* Outdoor air warmed up indoors is dry; people add moisture. */
            double ti = indoor_temp(s, seed, t, &lt), td = fmin(dew_point(seed, t), ti);
            v = clamp(100.0 * magnus(td) / magnus(ti) + 12.0 * occupancy(s->use, &lt), 15.0, 75.0);
        } else {
            v = demo_humidity(seed, t);
        }
        v = clamp(v + demo_rng_normal(r), 0.0, 100.0);
        break;
    case DEMO_M_CO2:
        v = fmax(380.0, co2_value(s, seed, t, &lt) + (s->indoor ? 15.0 : 4.0) * demo_rng_normal(r));
        break;
    case DEMO_M_PRESSURE:
        v = demo_pressure(seed, t, s->altitude_m) + 0.1 * demo_rng_normal(r);
        break;
    case DEMO_M_RAIN: {
        /* A tipping bucket reports whole tips of 0.1 mm; the rest waits. */
        double tips = floor(s->rain_acc / 0.1 + 1e-9);
        s->rain_acc -= tips * 0.1;
        if (s->rain_acc < 0.0)
            s->rain_acc = 0.0;
        v = tips * 0.1;
        break;
    }
    case DEMO_M_FILL:
        v = clamp(s->fill + 1.2 * demo_rng_normal(r), 0.0, 100.0);
        break;
    case DEMO_M_FILL_HEIGHT:
    case DEMO_M_DISTANCE: {
        /* The ultrasonic sensor cannot see closer than 280 mm (LDDS75). */
        double span = s->bin_height_mm - 280.0;
        double fill = clamp(s->fill + 1.0 * demo_rng_normal(r), 0.0, 100.0) / 100.0;
        v = m == DEMO_M_DISTANCE ? 280.0 + span * (1.0 - fill) : span * fill;
        break;
    }
    case DEMO_M_OCCUPANCY:
        v = s->occupied ? 1.0 : 0.0;
        break;
    case DEMO_M_PEOPLE_LR:
        v = s->people_lr;
        s->people_lr = 0.0;
        break;
    case DEMO_M_PEOPLE_RL:
        v = s->people_rl;
        s->people_rl = 0.0;
        break;
    case DEMO_M_SOIL_MOISTURE:
        v = clamp(s->soil + 0.15 * demo_rng_normal(r), 0.0, 100.0);
        break;
    case DEMO_M_SOIL_TEMP:
        /* At 30 cm the daily wave is damped to a tenth and arrives hours late. */
        v = 1.5 + 0.85 * season_mean(lt.yday) + 0.15 * synoptic(seed, t) +
            0.1 * day_amplitude(lt.yday) * diurnal(fmod(lt.hour - 5.0 + 24.0, 24.0)) +
            0.03 * demo_rng_normal(r);
        v = fmax(v, 0.0);
        break;
    case DEMO_M_SOIL_EC: {
        double salt = s->street_tree ? 250.0 * (1.0 - summerness(lt.yday)) : 0.0;
        v = fmax(20.0, 150.0 + 9.0 * (s->soil - 20.0) + salt + 5.0 * demo_rng_normal(r));
        break;
    }
    case DEMO_M_BATTERY: {
        double b = clamp(s->battery, 0.0, 1.0);
        if (strcmp(unit, "%") == 0) {
            v = floor(100.0 * b + 0.5);
        } else {
            /* Lithium primary cell: cold lowers the voltage under load. */
            double cold = fmax(0.0, 10.0 - demo_air_temp(seed, t)) * 0.004;
            v = 2.9 + 0.75 * b - cold + 0.004 * demo_rng_normal(r);
            res = 0.001;
            if (strcmp(unit, "mV") == 0)
                factor = 1000.0;
        }
        break;
    }
    case DEMO_M_ENERGY:
        v = s->energy_kwh;
        break;
    case DEMO_M_POWER:
        v = s->time_acc > 0.0 ? s->energy_acc / (s->time_acc / HOUR) : s->base_kw;
        s->energy_acc = s->time_acc = 0.0;
        break;
    default:
        return -1;
    }

    v = v * factor + offset;
    res *= factor;
    if (res > 0.0)
        v = round(v / res) * res;
    *out = v;
    return 0;
}

/* ========================================================================== */
/* Requests                                                                   */
/* ========================================================================== */

/* Runs one request; on 0, *status is set and *text is the body (caller frees). */
static int call(const DemoApi *api, const char *method, const char *path, const char *body,
                int *status, char **text, Err *err)
{
    *text = NULL;
    *status = 0;
    int rc = api->request(api->data, method, path, body, status, text);
    if (rc < 0) {
        free(*text);
        *text = NULL;
        return err_set(err, rc, path, "%s %s: the request could not be run (%s)", method, path,
                       err_text(rc));
    }
    if (!*text) {
        *text = strdup("");
        if (!*text)
            return err_set(err, ERR_NOMEM, NULL, "out of memory");
    }
    return 0;
}

/* The server's error message in text, else the start of text, into out. */
static void server_message(const char *text, char *out, size_t size)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    const json_t *msg = NULL;
    if (json_is_object(j)) {
        msg = json_object_get(j, "message");
        const json_t *e = json_object_get(j, "error");
        if (!json_is_string(msg) && json_is_object(e))
            msg = json_object_get(e, "message");
        if (!json_is_string(msg) && json_is_string(e))
            msg = e;
    }
    if (json_is_string(msg)) {
        snprintf(out, size, "%s", json_string_value(msg));
    } else {
        size_t i = 0;
        for (; text[i] && text[i] != '\n' && i + 1 < size && i < 160; i++)
            out[i] = text[i];
        out[i] = '\0';
    }
    json_decref(j);
}

static int status_ok(int status)
{
    return status >= 200 && status < 300;
}

/* ========================================================================== */
/* Seeding                                                                    */
/* ========================================================================== */

/* Sets *any to 1 when GET /Things?$top=1 returns a Thing. */
static int store_has_things(const DemoApi *api, int *any, Err *err)
{
    const char *path = "/Things?$top=1";
    char *text = NULL, msg[200];
    int status, rc = call(api, "GET", path, NULL, &status, &text, err);
    if (rc < 0)
        return rc;
    json_t *j = json_loads(text, 0, NULL);
    const json_t *value = json_object_get(j, "value");
    if (status != 200 || !json_is_array(value)) {
        server_message(text, msg, sizeof msg);
        rc = err_set(err, ERR_INVALID, path, "GET %s: HTTP %d: %s", path, status, msg);
    } else {
        *any = json_array_size(value) > 0;
    }
    json_decref(j);
    free(text);
    return rc;
}

/* The @iot.id the server assigned: from the 201 body, or else the newest
 * entity of the collection.  Writes a new reference to *id. */
static int created_id(const DemoApi *api, const char *collection, const char *text, json_t **id,
                      Err *err)
{
    json_t *j = json_loads(text, 0, NULL), *v = json_object_get(j, "@iot.id");
    char path[128], *list = NULL;
    int status, rc = 0;
    if (json_is_integer(v) || json_is_string(v)) {
        *id = json_incref(v);
        goto done;
    }
    json_decref(j);
    j = NULL;
    snprintf(path, sizeof path, "%s?$orderby=id%%20desc&$top=1", collection);
    rc = call(api, "GET", path, NULL, &status, &list, err);
    if (rc < 0)
        goto done;
    j = json_loads(list, 0, NULL);
    v = json_object_get(json_array_get(json_object_get(j, "value"), 0), "@iot.id");
    if (status != 200 || !(json_is_integer(v) || json_is_string(v))) {
        rc = err_set(err, ERR_INVALID, collection,
                     "POST %s: the server returned no @iot.id, and GET %s found none", collection,
                     path);
        goto done;
    }
    *id = json_incref(v);
done:
    json_decref(j);
    free(list);
    return rc;
}

/* POSTs every entity of map (key -> entity) to collection; records key -> id in ids. */
static int create_shared(const DemoApi *api, const char *collection, const json_t *map, json_t *ids,
                         Err *err)
{
    const char *key;
    json_t *entity;
    int rc = 0;
    if (!map)
        return 0;
    if (!json_is_object(map))
        return err_set(err, ERR_INVALID, collection,
                       "seed file: %s must be an object of key: entity", collection + 1);
    json_object_foreach ((json_t *)map, key, entity) {
        char *body = json_dumps(entity, JSON_COMPACT), *text = NULL, msg[200];
        int status;
        json_t *id = NULL;
        if (!body)
            return err_set(err, ERR_NOMEM, NULL, "out of memory");
        rc = call(api, "POST", collection, body, &status, &text, err);
        free(body);
        if (rc < 0)
            return rc;
        if (!status_ok(status)) {
            server_message(text, msg, sizeof msg);
            rc = err_set(err, ERR_INVALID, collection, "POST %s for \"%s\": HTTP %d: %s",
                         collection, key, status, msg);
        } else {
            rc = created_id(api, collection, text, &id, err);
        }
        free(text);
        if (rc < 0)
            return rc;
        json_object_set_new(ids, key, id);
    }
    return 0;
}

/* Replaces the string key in member name of obj by {"@iot.id": id}. */
static int link_key(json_t *obj, const char *name, const json_t *ids, const char *where, Err *err)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v))
        return 0; /* absent, or already an entity or a link */
    json_t *id = json_object_get(ids, json_string_value(v));
    if (!id)
        return err_set(err, ERR_INVALID, where, "seed file: %s.%s: unknown key \"%s\"", where, name,
                       json_string_value(v));
    json_object_set_new(obj, name, json_pack("{s:O}", "@iot.id", id));
    return 0;
}

/* Resolves the Sensor and ObservedProperty keys in one Thing (copy). */
static int link_thing(json_t *thing, size_t index, const json_t *sensors, const json_t *ops,
                      Err *err)
{
    char where[96];
    size_t j, k;
    json_t *ds, *op;
    json_array_foreach (json_object_get(thing, "Datastreams"), j, ds) {
        snprintf(where, sizeof where, "things[%zu].Datastreams[%zu]", index, j);
        if (link_key(ds, "Sensor", sensors, where, err) < 0 ||
            link_key(ds, "ObservedProperty", ops, where, err) < 0)
            return ERR_INVALID;
    }
    json_array_foreach (json_object_get(thing, "MultiDatastreams"), j, ds) {
        snprintf(where, sizeof where, "things[%zu].MultiDatastreams[%zu]", index, j);
        if (link_key(ds, "Sensor", sensors, where, err) < 0)
            return ERR_INVALID;
        json_t *list = json_object_get(ds, "ObservedProperties");
        json_array_foreach (list, k, op) {
            if (!json_is_string(op))
                continue;
            json_t *id = json_object_get(ops, json_string_value(op));
            if (!id)
                return err_set(err, ERR_INVALID, where,
                               "seed file: %s.ObservedProperties[%zu]: unknown key \"%s\"", where,
                               k, json_string_value(op));
            json_array_set_new(list, k, json_pack("{s:O}", "@iot.id", id));
        }
    }
    return 0;
}

int demo_seed(const DemoApi *api, const char *seed_path, Err *err)
{
    json_t *root = NULL, *sensor_ids = json_object(), *op_ids = json_object();
    const json_t *things, *sensors = NULL, *ops = NULL;
    json_error_t je;
    FILE *f = NULL;
    int any = 0, rc;

    if (!sensor_ids || !op_ids) {
        rc = err_set(err, ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    rc = store_has_things(api, &any, err);
    if (rc < 0 || any)
        goto done;

    f = fopen(seed_path, "rb");
    if (!f) {
        rc = err_set(err, ERR_IO, seed_path, "cannot open the seed file %s: %s", seed_path,
                     strerror(errno));
        goto done;
    }
    root = json_loadf(f, 0, &je);
    if (!root) {
        rc = err_set(err, ERR_INVALID, seed_path, "%s:%d:%d: %s", seed_path, je.line, je.column,
                     je.text);
        goto done;
    }
    /* Either a plain array of Things, or {sensors, observedProperties, things}. */
    things = root;
    if (json_is_object(root)) {
        things = json_object_get(root, "things");
        sensors = json_object_get(root, "sensors");
        ops = json_object_get(root, "observedProperties");
    }
    if (!json_is_array(things)) {
        rc = err_set(err, ERR_INVALID, seed_path,
                     "%s: expected an array of Things or an object "
                     "with \"things\"",
                     seed_path);
        goto done;
    }

    rc = create_shared(api, "/Sensors", sensors, sensor_ids, err);
    if (rc < 0)
        goto done;
    rc = create_shared(api, "/ObservedProperties", ops, op_ids, err);
    if (rc < 0)
        goto done;

    size_t i;
    json_t *thing;
    json_array_foreach (things, i, thing) {
        if (!json_is_object(thing)) {
            rc = err_set(err, ERR_INVALID, seed_path, "%s: things[%zu] is not an object", seed_path,
                         i);
            goto done;
        }
        json_t *copy = json_deep_copy(thing);
        char *body = NULL, *text = NULL, msg[200];
        int status = 0;
        rc = copy ? link_thing(copy, i, sensor_ids, op_ids, err)
                  : err_set(err, ERR_NOMEM, NULL, "out of memory");
        if (rc == 0) {
            body = json_dumps(copy, JSON_COMPACT);
            rc = body ? call(api, "POST", "/Things", body, &status, &text, err)
                      : err_set(err, ERR_NOMEM, NULL, "out of memory");
        }
        if (rc == 0 && !status_ok(status)) {
            const char *name = json_string_value(json_object_get(thing, "name"));
            server_message(text, msg, sizeof msg);
            rc = err_set(err, ERR_INVALID, "/Things",
                         "POST /Things for things[%zu] \"%s\": HTTP %d: %s", i, name ? name : "?",
                         status, msg);
        }
        free(text);
        free(body);
        json_decref(copy);
        if (rc < 0)
            goto done;
    }
    rc = 0;
done:
    if (f)
        fclose(f);
    json_decref(root);
    json_decref(sensor_ids);
    json_decref(op_ids);
    return rc;
}

/* ========================================================================== */
/* Simulator                                                                  */
/* ========================================================================== */

#define OT_TRUTH "OM_TruthObservation"
#define OT_COUNT "OM_CountObservation"

typedef enum ResultKind { RESULT_NUMBER, RESULT_INTEGER, RESULT_BOOLEAN } ResultKind;

typedef struct Stream {
    char path[96];   /* "/Datastreams(<id>)/Observations" */
    char unit[24];   /* UCUM symbol */
    DemoModel model; /* how its values are made */
    ResultKind kind; /* from observationType */
    int decimals;    /* digits after the point for RESULT_NUMBER */
    size_t site;     /* index into DemoSim.sites */
} Stream;

struct DemoSim {
    const DemoApi *api; /* borrowed */
    uint64_t seed;      /* weather and noise */
    double t0;          /* simulated instant of the start */
    DemoSite *sites;    /* one per Thing, owned */
    size_t nsites, capsites;
    Stream *streams; /* datastreams with a model, owned */
    size_t nstreams, capstreams;
    size_t listed;         /* datastreams listed, with or without a model */
    unsigned long posted;  /* observations accepted */
    unsigned long failed;  /* observations refused or not sent */
    char first_error[320]; /* first refusal, for the stop line */
    /* thread */
    int interval_ms; /* wall-clock period of a tick */
    double speed;    /* simulated seconds per wall-clock second */
    pthread_t thread;
    int running; /* thread was started */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int stop; /* set once by demo_sim_stop */
};

static int decimals_of(double res)
{
    int d = 0;
    while (res < 0.999999 && d < 6) {
        res *= 10.0;
        d++;
    }
    return d;
}

static size_t site_for(DemoSim *sim, long thing_id, const json_t *props, Err *err, int *rc)
{
    for (size_t i = 0; i < sim->nsites; i++)
        if (sim->sites[i].thing_id == thing_id)
            return i;
    if (sim->nsites == sim->capsites) {
        size_t cap = sim->capsites ? 2 * sim->capsites : 32;
        DemoSite *p = realloc(sim->sites, cap * sizeof *p);
        if (!p) {
            *rc = err_set(err, ERR_NOMEM, NULL, "out of memory");
            return 0;
        }
        sim->sites = p;
        sim->capsites = cap;
    }
    demo_site_init(&sim->sites[sim->nsites], thing_id, props, sim->seed, sim->t0);
    return sim->nsites++;
}

/* Adds one listed datastream (an element of "value"). */
static int add_stream(DemoSim *sim, const json_t *ds, Err *err)
{
    const json_t *id = json_object_get(ds, "@iot.id");
    const json_t *thing = json_object_get(ds, "Thing");
    const json_t *op = json_object_get(ds, "ObservedProperty");
    const char *unit =
        json_string_value(json_object_get(json_object_get(ds, "unitOfMeasurement"), "symbol"));
    const char *otype = json_string_value(json_object_get(ds, "observationType"));
    Stream st;
    int rc = 0;

    sim->listed++;
    memset(&st, 0, sizeof st);
    st.model = demo_model_classify(json_string_value(json_object_get(op, "name")),
                                   json_string_value(json_object_get(ds, "name")), unit);
    if (st.model == DEMO_M_NONE)
        return 0;
    if (json_is_integer(id))
        snprintf(st.path, sizeof st.path, "/Datastreams(%" JSON_INTEGER_FORMAT ")/Observations",
                 json_integer_value(id));
    else if (json_is_string(id) && strlen(json_string_value(id)) < 60)
        snprintf(st.path, sizeof st.path, "/Datastreams('%s')/Observations", json_string_value(id));
    else
        return 0;
    snprintf(st.unit, sizeof st.unit, "%s", unit ? unit : "");
    st.kind = otype && strstr(otype, OT_TRUTH)   ? RESULT_BOOLEAN
              : otype && strstr(otype, OT_COUNT) ? RESULT_INTEGER
                                                 : RESULT_NUMBER;
    double factor = 1.0, offset = 0.0;
    unit_lookup(st.model, unit, &factor, &offset);
    double res = model_units[st.model].resolution * factor;
    if (st.model == DEMO_M_BATTERY && unit && strcmp(unit, "%") != 0)
        res = strcmp(unit, "mV") == 0 ? 1.0 : 0.001;
    st.decimals = decimals_of(res);

    /* Datastreams of one Thing share its site; without an expanded Thing
     * each datastream gets a site of its own. */
    const json_t *tid = json_object_get(thing, "@iot.id");
    long thing_id = json_is_integer(tid) ? (long)json_integer_value(tid) : -(long)sim->listed;
    st.site = site_for(sim, thing_id, json_object_get(thing, "properties"), err, &rc);
    if (rc < 0)
        return rc;

    if (sim->nstreams == sim->capstreams) {
        size_t cap = sim->capstreams ? 2 * sim->capstreams : 64;
        Stream *p = realloc(sim->streams, cap * sizeof *p);
        if (!p)
            return err_set(err, ERR_NOMEM, NULL, "out of memory");
        sim->streams = p;
        sim->capstreams = cap;
    }
    sim->streams[sim->nstreams++] = st;
    return 0;
}

/* The path of an absolute @iot.nextLink relative to the service root. */
static char *next_path(const char *link)
{
    const char *p = strstr(link, "/Datastreams");
    return p ? strdup(p) : NULL;
}

static int list_streams(DemoSim *sim, Err *err)
{
    char *path = strdup("/Datastreams?$top=10000&$expand=ObservedProperty,Thing");
    int rc = 0;
    if (!path)
        return err_set(err, ERR_NOMEM, NULL, "out of memory");
    for (int page = 0; path && page < LIST_PAGES_MAX; page++) {
        char *text = NULL, msg[200];
        int status;
        rc = call(sim->api, "GET", path, NULL, &status, &text, err);
        if (rc < 0)
            break;
        if (page == 0 && status == 400) {
            /* A server whose $top maximum is lower may refuse rather than cap
             * it: fall back to its default page size and @iot.nextLink. */
            free(text);
            free(path);
            text = NULL;
            path = strdup("/Datastreams?$expand=ObservedProperty,Thing");
            rc = path ? call(sim->api, "GET", path, NULL, &status, &text, err)
                      : err_set(err, ERR_NOMEM, NULL, "out of memory");
            if (rc < 0)
                break;
        }
        json_t *j = json_loads(text, 0, NULL);
        const json_t *value = json_object_get(j, "value");
        if (status != 200 || !json_is_array(value)) {
            server_message(text, msg, sizeof msg);
            rc =
                err_set(err, ERR_INVALID, "/Datastreams", "GET %s: HTTP %d: %s", path, status, msg);
        }
        size_t i;
        json_t *ds;
        json_array_foreach (value, i, ds) {
            if (rc == 0)
                rc = add_stream(sim, ds, err);
        }
        const char *link = json_string_value(json_object_get(j, "@iot.nextLink"));
        free(path);
        path = rc == 0 && link ? next_path(link) : NULL;
        json_decref(j);
        free(text);
        if (rc < 0)
            break;
    }
    free(path);
    return rc;
}

DemoSim *demo_sim_new(const DemoApi *api, uint64_t seed, double t0, Err *err)
{
    DemoSim *sim = calloc(1, sizeof *sim);
    if (!sim) {
        err_set(err, ERR_NOMEM, NULL, "out of memory");
        return NULL;
    }
    sim->api = api;
    sim->seed = seed;
    sim->t0 = t0;
    atomic_init(&sim->stop, 0);
    if (list_streams(sim, err) < 0) {
        demo_sim_free(sim);
        return NULL;
    }
    return sim;
}

size_t demo_sim_stream_count(const DemoSim *sim)
{
    return sim->nstreams;
}

size_t demo_sim_listed_count(const DemoSim *sim)
{
    return sim->listed;
}

static void format_result(const Stream *st, double v, char *out, size_t size)
{
    switch (st->kind) {
    case RESULT_BOOLEAN:
        snprintf(out, size, "%s", v != 0.0 ? "true" : "false");
        break;
    case RESULT_INTEGER:
        snprintf(out, size, "%.0f", round(v));
        break;
    default:
        snprintf(out, size, "%.*f", st->decimals, v);
        break;
    }
}

int demo_sim_tick(DemoSim *sim, double t)
{
    return demo_sim_tick_at(sim, t, t);
}

/* Values follow the model time t; the observations are stamped with stamp.
 * The running demo stamps wall-clock time, so that a dashboard never sees
 * observations from the future while the weather runs faster. */
int demo_sim_tick_at(DemoSim *sim, double t, double stamp)
{
    char when[40], result[48], body[128];
    int ok = 0;
    for (size_t i = 0; i < sim->nsites; i++)
        demo_site_step(&sim->sites[i], sim->seed, t);
    demo_format_time(stamp, when, sizeof when);
    for (size_t i = 0; i < sim->nstreams; i++) {
        if (atomic_load(&sim->stop))
            break;
        const Stream *st = &sim->streams[i];
        double v;
        if (demo_site_value(&sim->sites[st->site], st->model, st->unit, sim->seed, &v) != 0)
            continue;
        format_result(st, v, result, sizeof result);
        snprintf(body, sizeof body, "{\"phenomenonTime\":\"%s\",\"result\":%s}", when, result);
        char *text = NULL;
        int status = 0;
        int rc = sim->api->request(sim->api->data, "POST", st->path, body, &status, &text);
        if (rc == 0 && status == 201) {
            sim->posted++;
            ok++;
        } else {
            if (sim->failed++ == 0) {
                char msg[120] = "";
                if (rc == 0 && text)
                    server_message(text, msg, sizeof msg);
                snprintf(sim->first_error, sizeof sim->first_error, "POST %s: %s %d: %s", st->path,
                         rc == 0 ? "HTTP" : "error", rc == 0 ? status : rc, msg);
            }
        }
        free(text);
    }
    return ok;
}

void demo_sim_free(DemoSim *sim)
{
    if (!sim)
        return;
    free(sim->sites);
    free(sim->streams);
    free(sim);
}

static double seconds_since(const struct timespec *a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - a->tv_sec) + (now.tv_nsec - a->tv_nsec) / 1e9;
}

static struct timespec add_seconds(const struct timespec *a, double s)
{
    struct timespec r = *a;
    double whole = floor(s);
    r.tv_sec += (time_t)whole;
    r.tv_nsec += (long)((s - whole) * 1e9);
    while (r.tv_nsec >= 1000000000L) {
        r.tv_nsec -= 1000000000L;
        r.tv_sec++;
    }
    return r;
}

/* The thread: a tick now, then one per interval on a fixed schedule (ticks
 * that are late are dropped, not bunched up), until demo_sim_stop. */
static void *run(void *arg)
{
    DemoSim *sim = arg;
    struct timespec start;
    double interval = sim->interval_ms / 1000.0;
    uint64_t k = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        double elapsed = seconds_since(&start);
        demo_sim_tick_at(sim, sim->t0 + elapsed * sim->speed, sim->t0 + elapsed);
        uint64_t due = (uint64_t)(seconds_since(&start) / interval) + 1;
        k = due > k + 1 ? due : k + 1;
        struct timespec deadline = add_seconds(&start, (double)k * interval);
        int stop;
        pthread_mutex_lock(&sim->mu);
        while (!(stop = atomic_load(&sim->stop))) {
            if (pthread_cond_timedwait(&sim->cv, &sim->mu, &deadline) == ETIMEDOUT)
                break;
        }
        pthread_mutex_unlock(&sim->mu);
        if (stop)
            break;
    }
    return NULL;
}

DemoSim *demo_sim_start(const DemoApi *api, int interval_ms, double speed, Err *err)
{
    struct timespec now;
    pthread_condattr_t ca;
    if (interval_ms <= 0 || !(speed > 0.0)) {
        err_set(err, ERR_INVALID, "demo", "simulator: interval_ms and speed must be positive");
        return NULL;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    DemoSim *sim = demo_sim_new(api, DEMO_SEED, (double)now.tv_sec + now.tv_nsec / 1e9, err);
    if (!sim)
        return NULL;
    sim->interval_ms = interval_ms;
    sim->speed = speed;
    pthread_mutex_init(&sim->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sim->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&sim->thread, NULL, run, sim);
    if (rc != 0) {
        err_set(err, ERR_INTERNAL, "demo", "simulator: cannot start its thread: %s", strerror(rc));
        pthread_cond_destroy(&sim->cv);
        pthread_mutex_destroy(&sim->mu);
        demo_sim_free(sim);
        return NULL;
    }
    sim->running = 1;
    LOG(LOG_INFO,
        "module=demo event=sim_start datastreams=%zu listed=%zu things=%zu interval_ms=%d speed=%g",
        sim->nstreams, sim->listed, sim->nsites, interval_ms, speed);
    return sim;
}

void demo_sim_stop(DemoSim *sim)
{
    if (!sim)
        return;
    if (sim->running) {
        pthread_mutex_lock(&sim->mu);
        atomic_store(&sim->stop, 1);
        pthread_cond_signal(&sim->cv);
        pthread_mutex_unlock(&sim->mu);
        pthread_join(sim->thread, NULL);
        pthread_cond_destroy(&sim->cv);
        pthread_mutex_destroy(&sim->mu);
        if (sim->failed)
            LOG(LOG_WARN, "module=demo event=sim_stop posted=%lu failed=%lu first_error=\"%s\"",
                sim->posted, sim->failed, sim->first_error);
        else
            LOG(LOG_INFO, "module=demo event=sim_stop posted=%lu failed=0", sim->posted);
    }
    demo_sim_free(sim);
}
