import streamlit as st

st.title("real_slm (in progress)")
