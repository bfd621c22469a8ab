import streamlit as st

st.title("model_compare (in progress)")
