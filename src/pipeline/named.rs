//! Serde for values picked by name from a registry (metrics, up-samplers).
//!
//! Such a value is written in pipeline files as one word (`rmse_ai`, `n15`). Its
//! serde form is exactly that of a unit enum variant (same calls, same error
//! messages, `unknown variant ..., expected one of ...`), so configs serialise to
//! the same bytes, keys stay put, and the loader's messages about unknown values
//! keep working, while the list of values lives in one registry next to the code.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, EnumAccess, VariantAccess, Visitor};
use serde::{Deserializer, Serializer};

/// A value of a fixed registry, known by its name.
pub trait Named: Copy + 'static {
    /// The type's name as serde reports it (the old enum's name).
    const TYPE: &'static str;
    /// The value's name in pipeline files.
    fn name(&self) -> &'static str;
    /// Every value, in registry order (the serde variant index).
    fn all() -> &'static [Self];
    /// The names of [`Named::all`], in the same order (for serde's messages).
    fn names() -> &'static [&'static str];
}

/// The value called `name`, if the registry has one.
pub fn by_name<T: Named>(name: &str) -> Option<T> {
    T::all().iter().copied().find(|v| v.name() == name)
}

/// The JSON Schema of a [`Named`] value: a string, one of the registry's names.
pub fn json_schema<T: Named>() -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": T::names(),
    })
}

/// Serialises `value` as the unit variant it used to be.
pub fn serialize<T: Named, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    let index = T::all()
        .iter()
        .position(|v| v.name() == value.name())
        .unwrap_or(0);
    serializer.serialize_unit_variant(T::TYPE, index as u32, value.name())
}

/// Deserialises a value the way serde's derive reads a unit enum variant.
pub fn deserialize<'de, T: Named, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_enum(T::TYPE, T::names(), EnumVisitor(PhantomData))
}

/// Reads the variant, then checks it carries no data.
struct EnumVisitor<T>(PhantomData<T>);

impl<'de, T: Named> Visitor<'de> for EnumVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "enum {}", T::TYPE)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<T, A::Error> {
        let (value, variant) = data.variant_seed(NameSeed(PhantomData))?;
        variant.unit_variant()?;
        Ok(value)
    }
}

/// Reads the variant's name and looks it up.
struct NameSeed<T>(PhantomData<T>);

impl<'de, T: Named> DeserializeSeed<'de> for NameSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, T: Named> Visitor<'de> for NameSeed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("variant identifier")
    }

    fn visit_u64<E: de::Error>(self, index: u64) -> Result<T, E> {
        T::all().get(index as usize).copied().ok_or_else(|| {
            E::invalid_value(
                de::Unexpected::Unsigned(index),
                &format!("variant index 0 <= i < {}", T::all().len()).as_str(),
            )
        })
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<T, E> {
        by_name(name).ok_or_else(|| E::unknown_variant(name, T::names()))
    }

    fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<T, E> {
        match std::str::from_utf8(name) {
            Ok(name) => self.visit_str(name),
            Err(_) => Err(E::unknown_variant(
                &String::from_utf8_lossy(name),
                T::names(),
            )),
        }
    }
}

/// Implements `Serialize`, `Deserialize`, `PartialEq`, `Eq`, `Hash`, `Debug` and
/// `JsonSchema` (one of the registry's names) for a [`Named`] type by its name.
macro_rules! named_serde {
    ($ty:ty) => {
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                <$ty as $crate::pipeline::named::Named>::TYPE.into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $crate::pipeline::named::json_schema::<$ty>()
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::pipeline::named::serialize(self, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::pipeline::named::deserialize(d)
            }
        }

        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                $crate::pipeline::named::Named::name(self)
                    == $crate::pipeline::named::Named::name(other)
            }
        }

        impl Eq for $ty {}

        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                $crate::pipeline::named::Named::name(self).hash(state);
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str($crate::pipeline::named::Named::name(self))
            }
        }
    };
}

pub(crate) use named_serde;

/// `names()` for a [`Named`] type: the names of `all()`, collected once.
macro_rules! registry_names {
    () => {
        fn names() -> &'static [&'static str] {
            static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
            NAMES.get_or_init(|| {
                <Self as $crate::pipeline::named::Named>::all()
                    .iter()
                    .map($crate::pipeline::named::Named::name)
                    .collect()
            })
        }
    };
}

pub(crate) use registry_names;

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-value registry standing in for the real ones.
    #[derive(Clone, Copy)]
    struct Colour(&'static str);

    const ALL: &[Colour] = &[Colour("red"), Colour("green_blue")];

    impl Named for Colour {
        const TYPE: &'static str = "Colour";
        fn name(&self) -> &'static str {
            self.0
        }
        fn all() -> &'static [Self] {
            ALL
        }
        registry_names!();
    }

    named_serde!(Colour);

    /// What serde's derive makes of the same registry, to compare against.
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case", rename = "Colour")]
    enum Derived {
        Red,
        GreenBlue,
    }

    #[test]
    fn reads_and_writes_like_a_derived_unit_enum() {
        let json = serde_json::to_string(&vec![Colour("green_blue"), Colour("red")]).unwrap();
        assert_eq!(
            json,
            serde_json::to_string(&[Derived::GreenBlue, Derived::Red]).unwrap()
        );
        let back: Vec<Colour> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [Colour("green_blue"), Colour("red")]);
        for bad in ["\"blue\"", "3", "{\"red\": 1}", "{\"blue\": null}", "[1]"] {
            let ours = serde_json::from_str::<Colour>(bad).unwrap_err().to_string();
            let derived = serde_json::from_str::<Derived>(bad)
                .unwrap_err()
                .to_string();
            assert_eq!(ours, derived, "{bad}");
            let value: serde_json::Value = serde_json::from_str(bad).unwrap();
            let ours = serde_json::from_value::<Colour>(value.clone()).unwrap_err();
            let derived = serde_json::from_value::<Derived>(value).unwrap_err();
            assert_eq!(ours.to_string(), derived.to_string(), "{bad} as a value");
        }
    }
}
