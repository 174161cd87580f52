//! Instruction adherence: verifiable rule checks in the style of IFEval (Zhou et al., 2023),
//! each deterministic, so a model's answers can be gated without an LLM judge.

use serde::{Deserialize, Serialize};

/// One verifiable instruction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Instruction {
    /// At most this many words (IFEval `length_constraints:number_words`, "less than" is
    /// `max_words: n - 1`).
    MaxWords {
        /// The limit.
        max: usize,
    },
    /// At least this many words.
    MinWords {
        /// The minimum.
        min: usize,
    },
    /// Every keyword appears (case-insensitive; IFEval `keywords:existence`).
    IncludeKeywords {
        /// The keywords.
        keywords: Vec<String>,
    },
    /// No forbidden word appears as a whole word (case-insensitive; `keywords:forbidden_words`).
    ForbiddenWords {
        /// The words.
        words: Vec<String>,
    },
    /// The whole answer is valid JSON, optionally inside a ```` ```json ```` fence
    /// (`detectable_format:json_format`).
    JsonFormat,
    /// Exactly this many markdown bullets (`* ` or `- ` lines; `detectable_format:number_bullet_lists`).
    BulletCount {
        /// The count.
        count: usize,
    },
    /// No uppercase letters (`change_case:english_lowercase`).
    Lowercase,
    /// Ends with this phrase, ignoring trailing whitespace (`startend:end_checker`).
    EndsWith {
        /// The phrase.
        phrase: String,
    },
}

impl Instruction {
    /// Whether `answer` follows the instruction.
    pub fn check(&self, answer: &str) -> bool {
        let words = || answer.split_whitespace().count();
        let lower = answer.to_lowercase();
        match self {
            Instruction::MaxWords { max } => words() <= *max,
            Instruction::MinWords { min } => words() >= *min,
            Instruction::IncludeKeywords { keywords } => {
                keywords.iter().all(|k| lower.contains(&k.to_lowercase()))
            }
            Instruction::ForbiddenWords { words } => {
                let tokens: Vec<&str> = lower
                    .split(|c: char| !c.is_alphanumeric() && c != '\'')
                    .filter(|t| !t.is_empty())
                    .collect();
                words
                    .iter()
                    .all(|w| !tokens.contains(&w.to_lowercase().as_str()))
            }
            Instruction::JsonFormat => {
                let t = answer.trim();
                let t = t
                    .strip_prefix("```json")
                    .or_else(|| t.strip_prefix("```Json"))
                    .or_else(|| t.strip_prefix("```JSON"))
                    .or_else(|| t.strip_prefix("```"))
                    .unwrap_or(t);
                let t = t.strip_suffix("```").unwrap_or(t).trim();
                serde_json::from_str::<serde_json::Value>(t).is_ok()
            }
            Instruction::BulletCount { count } => {
                answer
                    .lines()
                    .filter(|l| {
                        let l = l.trim_start();
                        l.starts_with("* ") || l.starts_with("- ")
                    })
                    .count()
                    == *count
            }
            Instruction::Lowercase => !answer.chars().any(char::is_uppercase),
            Instruction::EndsWith { phrase } => answer.trim_end().ends_with(phrase.trim_end()),
        }
    }
}

/// Adherence over a set of prompts: `(instructions of the prompt, the answer)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adherence {
    /// Share of prompts whose every instruction is followed (IFEval's prompt-level strict
    /// accuracy).
    pub prompt_level: f64,
    /// Share of all instructions followed (instruction-level strict accuracy).
    pub instruction_level: f64,
}

/// Prompt- and instruction-level adherence; `None` when there is no instruction at all.
pub fn adherence(cases: &[(&[Instruction], &str)]) -> Option<Adherence> {
    let (mut prompts_ok, mut followed, mut total) = (0usize, 0usize, 0usize);
    for (instructions, answer) in cases {
        let ok = instructions.iter().filter(|i| i.check(answer)).count();
        followed += ok;
        total += instructions.len();
        prompts_ok += (ok == instructions.len()) as usize;
    }
    (total > 0 && !cases.is_empty()).then(|| Adherence {
        prompt_level: prompts_ok as f64 / cases.len() as f64,
        instruction_level: followed as f64 / total as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_checks_what_it_says() {
        let json = "```json\n{\"answer\": 42}\n```";
        assert!(Instruction::JsonFormat.check(json));
        assert!(!Instruction::JsonFormat.check("{answer: 42}"));
        assert!(Instruction::MaxWords { max: 3 }.check("one two three"));
        assert!(!Instruction::MaxWords { max: 2 }.check("one two three"));
        assert!(Instruction::MinWords { min: 3 }.check("one two three"));
        assert!(
            Instruction::IncludeKeywords {
                keywords: vec!["Rust".into()]
            }
            .check("I like rust.")
        );
        assert!(
            !Instruction::ForbiddenWords {
                words: vec!["bad".into()]
            }
            .check("That is BAD.")
        );
        assert!(
            Instruction::ForbiddenWords {
                words: vec!["bad".into()]
            }
            .check("badge is fine")
        );
        assert!(Instruction::BulletCount { count: 2 }.check("intro\n* a\n- b\n"));
        assert!(Instruction::Lowercase.check("all lower 123"));
        assert!(!Instruction::Lowercase.check("Not"));
        assert!(
            Instruction::EndsWith {
                phrase: "Any other questions?".into()
            }
            .check("Done. Any other questions?  \n")
        );
    }

    #[test]
    fn prompt_and_instruction_level_accuracy() {
        let a = [Instruction::Lowercase, Instruction::MaxWords { max: 2 }];
        let b = [Instruction::JsonFormat];
        let r = adherence(&[(&a, "two words"), (&a, "Three long words"), (&b, "{}")]).unwrap();
        assert_eq!(r.prompt_level, 2.0 / 3.0);
        assert_eq!(r.instruction_level, 3.0 / 5.0);
        assert!(adherence(&[]).is_none());
    }
}
