//! The generated catalog: "{Adjective} {Material} {Noun} {Code}" names from word lists, chosen
//! so that a search finds what a real one would (a common word in ~2.5 % of the names, a rare
//! one in ~10 per million, accented and Hangul words), plus what each search must return.
//! Deterministic: product `i` is the same on every run and in every chunk order.

use shop_domain::search::search_key;
use std::collections::HashSet;

/// The common word: the noun of about one name in forty.
pub const COMMON: &str = "lamp";
pub const COMMON_NOUN: &str = "Lamp";
const COMMON_SHARE: f64 = 0.025;
/// The rare word: exactly [`Generator::rare_count`] names carry it (10 per million).
pub const RARE: &str = "zeppelin";
const RARE_NOUN: &str = "Zeppelin";
/// The accented adjective a folded search ("creme") must find.
pub const ACCENTED: &str = "Crème";
/// The tag the tag pages browse; every rare product has it.
pub const TAG: &str = "home";

/// Non-ASCII adjectives and how often each is picked.
const ACCENTED_ADJECTIVES: &[(&str, f64)] =
    &[("Crème", 0.006), ("Café", 0.006), ("Brûlé", 0.004), ("Über", 0.004)];
#[rustfmt::skip]
const ADJECTIVES: &[&str] = &[
    "Classic", "Modern", "Rustic", "Vintage", "Sleek", "Cozy", "Bold", "Gentle", "Sturdy", "Compact", "Grand",
    "Tiny", "Bright", "Quiet", "Nordic", "Coastal", "Urban", "Golden", "Silver", "Crimson", "Azure", "Ivory",
    "Misty", "Sunny", "Frosted", "Polished", "Woven", "Handmade", "Smart", "Royal", "Humble", "Elegant", "Simple",
    "Soft", "Deluxe", "Merry", "Wild", "Calm", "Swift", "Noble",
];
/// A Hangul material ("hanji" paper) for one name in about three hundred.
const HANGUL_MATERIAL: (&str, f64) = ("한지", 0.003);
#[rustfmt::skip]
const MATERIALS: &[&str] = &[
    "Oak", "Walnut", "Bamboo", "Linen", "Copper", "Brass", "Steel", "Cotton", "Wool", "Marble", "Ceramic", "Glass",
    "Leather", "Cedar", "Maple", "Slate", "Stone", "Rattan", "Jute", "Velvet", "Silk", "Cork", "Pewter", "Teak",
    "Birch", "Pine", "Enamel", "Porcelain", "Terracotta", "Felt",
];
/// A Hangul noun ("mug") for one name in two hundred.
const HANGUL_NOUN: (&str, f64) = ("머그컵", 0.005);
#[rustfmt::skip]
const NOUNS: &[&str] = &[
    "Mug", "Bowl", "Chair", "Table", "Vase", "Kettle", "Pan", "Pot", "Basket", "Blanket", "Cushion", "Rug", "Shelf",
    "Stool", "Bench", "Clock", "Mirror", "Tray", "Jar", "Bottle", "Cup", "Plate", "Knife", "Spoon", "Notebook", "Pen",
    "Desk", "Planter", "Trowel", "Hose", "Rake", "Shovel", "Tent", "Backpack", "Lantern", "Candle", "Frame", "Hook",
    "Box", "Towel", "Apron", "Ladle", "Whisk", "Grater", "Teapot", "Scarf", "Glove", "Hat", "Wallet", "Umbrella",
    "Ladder", "Bucket", "Sponge", "Brush", "Speaker", "Radio", "Fan", "Heater", "Pillow", "Sofa",
];
/// Lowercase letters only: a tag also names the placeholder image (`/media/placeholder/{tag}-{colour}.svg`).
#[rustfmt::skip]
pub const TAGS: &[&str] = &[
    "home", "garden", "kitchen", "office", "outdoor", "bath", "bedroom", "living", "dining", "lighting", "decor",
    "storage", "travel", "camping", "tools", "crafts", "gifts", "kids", "pets", "fitness", "audio", "tech", "books",
    "stationery", "textiles", "furniture", "cookware", "tableware", "tea", "coffee", "rugs", "plants", "seasonal",
    "sale", "eco", "handmade", "vintage", "minimal", "luxury", "basics",
];
const COLOURS: &[&str] = &["slate", "sand", "forest", "coral", "midnight", "ivory"];
const SENTENCES: &[&str] = &[
    "Made to be used every day and to last for years.",
    "Each piece is finished by hand, so no two are quite alike.",
    "Ships in plastic-free packaging.",
    "Easy to clean; gets better with age.",
    "Designed in a small studio and made in limited runs.",
    "A favourite gift that nobody returns.",
];

/// splitmix64: small, fast, good enough for a catalog.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
}

/// One product row as it is inserted.
#[derive(Debug, Clone)]
pub struct Product {
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub price: i64,
    pub stock: i64,
    pub sold_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub tags: [&'static str; 2],
    pub image: String,
}

/// How many products each checked search must find, counted while generating.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub total: u64,
    pub common: u64,
    pub rare: u64,
    pub accented: u64,
    pub prefix_l: u64,
    pub prefix_la: u64,
    pub tag: u64,
    pub tag_common: u64,
    pub tag_rare: u64,
}

impl Tally {
    pub fn add(&mut self, p: &Product) {
        let words = || p.name_key.split(' ');
        let tagged = p.tags.contains(&TAG);
        let common = p.name_key.contains(COMMON);
        let rare = p.name_key.contains(RARE);
        self.total += 1;
        self.common += u64::from(common);
        self.rare += u64::from(rare);
        self.accented += u64::from(p.name_key.contains("creme"));
        self.prefix_l += u64::from(words().any(|w| w.starts_with('l')));
        self.prefix_la += u64::from(words().any(|w| w.starts_with("la")));
        self.tag += u64::from(tagged);
        self.tag_common += u64::from(tagged && common);
        self.tag_rare += u64::from(tagged && rare);
    }
}

pub struct Generator {
    now_ms: i64,
    rare: HashSet<usize>,
    /// The product the flash sale is on (given plenty of stock).
    pub sale_index: usize,
}

impl Generator {
    pub fn new(total: usize, now_ms: i64) -> Generator {
        let count = Self::rare_count(total);
        let rare = (0..count).map(|k| k * total / count + total / (2 * count)).collect();
        Generator { now_ms, rare, sale_index: total / 3 + 1 }
    }

    /// Ten per million, and never fewer than three (a small catalog still has some).
    pub fn rare_count(total: usize) -> usize {
        (total / 100_000).max(3).min(total)
    }

    /// The indices of the products that carry the rare word.
    pub fn rare_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.rare.iter().copied()
    }

    /// Product `i` (0-based, in insertion order).
    pub fn product(&self, i: usize) -> Product {
        let mut r = Rng::new(0x5EED_CA7A_1060_0000 ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let rare = self.rare.contains(&i);
        let adjective = weighted(&mut r, ACCENTED_ADJECTIVES).unwrap_or_else(|| r.pick(ADJECTIVES));
        let material = weighted(&mut r, &[HANGUL_MATERIAL]).unwrap_or_else(|| r.pick(MATERIALS));
        let noun = if rare {
            RARE_NOUN
        } else {
            weighted(&mut r, &[(COMMON_NOUN, COMMON_SHARE), HANGUL_NOUN]).unwrap_or_else(|| r.pick(NOUNS))
        };
        let code = format!("{}-{:04}", (b'A' + r.below(26) as u8) as char, r.below(10_000));
        let name = format!("{adjective} {material} {noun} {code}");
        let first = if rare { 0 } else { r.below(TAGS.len() as u64) as usize };
        let second = (first + 1 + r.below(TAGS.len() as u64 - 1) as usize) % TAGS.len();
        let tags = [TAGS[first], TAGS[second]];
        let description = format!(
            "A {} {} in {}. {}",
            adjective.to_lowercase(),
            noun.to_lowercase(),
            material.to_lowercase(),
            SENTENCES[r.below(SENTENCES.len() as u64) as usize]
        );
        // Prices from 1.99 to ~1,000.00, most of them cheap.
        let price = 199 + (r.unit().powi(3) * 99_800.0) as i64;
        let stock = if i == self.sale_index {
            500
        } else if r.unit() < 0.05 {
            0
        } else {
            r.below(501) as i64
        };
        let sold_count = (r.unit().powi(4) * 5_000.0) as i64;
        const YEAR_MS: u64 = 365 * 24 * 3_600 * 1_000;
        let created_at = self.now_ms - 60_000 - r.below(YEAR_MS) as i64;
        let updated_at = (created_at + r.below(30 * 24 * 3_600 * 1_000) as i64).min(self.now_ms);
        let image = format!("/media/placeholder/{}-{}.svg", tags[0], r.pick(COLOURS));
        let name_key = search_key(&name);
        Product { name, name_key, description, price, stock, sold_count, created_at, updated_at, tags, image }
    }
}

fn weighted(r: &mut Rng, choices: &[(&'static str, f64)]) -> Option<&'static str> {
    let mut u = r.unit();
    for (word, p) in choices {
        if u < *p {
            return Some(word);
        }
        u -= p;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_words_appear_only_where_meant() {
        for w in ADJECTIVES.iter().chain(MATERIALS).chain(NOUNS).chain(TAGS) {
            let k = search_key(w);
            for probe in [COMMON, RARE, "creme", "zzzzqx"] {
                assert!(!k.contains(probe), "{w} contains {probe}");
            }
        }
        assert!(TAGS.iter().all(|t| t.chars().all(|c| c.is_ascii_lowercase())));
        assert_eq!(TAGS.len(), TAGS.iter().collect::<HashSet<_>>().len());
    }

    #[test]
    fn shares_are_roughly_as_designed() {
        let total = 200_000;
        let g = Generator::new(total, 1_700_000_000_000);
        let mut t = Tally::default();
        for i in 0..total {
            let p = g.product(i);
            assert_ne!(p.tags[0], p.tags[1]);
            t.add(&p);
        }
        assert_eq!(t.rare, Generator::rare_count(total) as u64, "rare");
        assert_eq!(t.tag_rare, t.rare);
        let share = t.common as f64 / t.total as f64;
        assert!((0.02..0.03).contains(&share), "common share {share}");
        assert!(t.accented > 500, "accented {}", t.accented);
        assert_eq!(g.product(7).name, g.product(7).name, "deterministic");
    }
}
